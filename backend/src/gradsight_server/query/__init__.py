"""Series queries and downsampling."""

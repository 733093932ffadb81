"""Transport: closed steps → columnar batches → the server, from a background thread."""

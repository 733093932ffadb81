"""Ingest: staging, applying and queueing batches."""

"""Gradsight server: ingest, store, diagnosis and the dashboard API."""

__version__ = "0.1.0"

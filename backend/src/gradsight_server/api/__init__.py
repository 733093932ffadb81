"""HTTP API (FastAPI): routes call services; nothing here touches SQL."""

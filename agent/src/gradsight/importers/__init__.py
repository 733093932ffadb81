"""Importers: runs recorded by other tools, uploaded through the agent's own spool and sync
path (``gradsight import tensorboard DIR``)."""

"""Thin adapters from training frameworks to the framework-free agent (ARCHITECTURE.md ⚑ Agent
API): ``gradsight.integrations.lightning.GradsightCallback`` (PyTorch Lightning) and
``gradsight.integrations.transformers.GradsightCallback`` (the Hugging Face ``Trainer``).

Nothing is imported here: ``import gradsight`` never needs Lightning or Transformers, and
each adapter imports its framework only when it is itself imported.
"""

"""Capture: hooks on the training loop and the step axis they report on."""

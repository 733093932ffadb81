"""Domain errors that services raise and the API maps to HTTP statuses."""

from __future__ import annotations


class RunNotFound(LookupError):
    """No run with this id (404)."""


class RunConflict(ValueError):
    """The request contradicts the stored run (409)."""

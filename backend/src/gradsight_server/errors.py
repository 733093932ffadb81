"""Domain errors that services raise and the API maps to HTTP statuses."""

from __future__ import annotations


class RunNotFound(LookupError):
    """No run with this id (404)."""


class RunConflict(ValueError):
    """The request contradicts the stored run (409)."""


class BadQuery(ValueError):
    """A query the data makes too large or meaningless (422, naming the parameter)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

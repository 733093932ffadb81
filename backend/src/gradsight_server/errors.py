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


class NotFound(LookupError):
    """A named thing (project, user, key, webhook) does not exist or is not visible (404)."""


class Conflict(ValueError):
    """The name is taken (409)."""


class Invalid(ValueError):
    """A field's value is refused for a reason the schema cannot say (422, naming the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Unauthenticated(PermissionError):
    """No valid credentials where they are required (401)."""


class Forbidden(PermissionError):
    """Valid credentials without the permission (403)."""


class RateLimited(RuntimeError):
    """Too many requests (429 with Retry-After)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

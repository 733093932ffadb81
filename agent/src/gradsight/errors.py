"""The agent never raises into training: failures are counted (``agent/errors``) and each
distinct kind is logged once, so a failing hook cannot flood the user's console."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger("gradsight")
F = TypeVar("F", bound=Callable[..., Any])


class ErrorLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: set[tuple[str, str]] = set()
        self.count = 0

    def report(self, where: str, exc: BaseException) -> None:
        with self._lock:
            self.count += 1
            kind = (where, type(exc).__name__)
            first = kind not in self._seen
            self._seen.add(kind)
        if first:
            log.warning(
                "gradsight: %s failed (%s: %s); training continues, further errors of "
                "this kind are counted in agent/errors",
                where,
                type(exc).__name__,
                exc,
                exc_info=log.isEnabledFor(logging.DEBUG),
            )

    def warn_once(self, where: str, message: str) -> None:
        """Log ``message`` the first time ``where`` warns; later messages of that kind (which
        may differ, e.g. by step) are dropped."""
        with self._lock:
            kind = (where, "")
            if kind in self._seen:
                return
            self._seen.add(kind)
        log.warning("gradsight: %s", message)

    def guard(self, where: str) -> Callable[[F], F]:
        """Decorator: run a hook, swallowing and reporting anything it raises."""

        def wrap(fn: F) -> F:
            @functools.wraps(fn)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                try:
                    return fn(*args, **kwargs)
                except Exception as exc:
                    self.report(where, exc)
                    return None

            return guarded  # type: ignore[return-value]

        return wrap

"""Process-wide objects the routes need, created in the app's lifespan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from gradsight_server.api.broadcast import Broadcaster
from gradsight_server.ingest.service import IngestQueue
from gradsight_server.settings import Settings
from gradsight_server.store.engine import Database

if TYPE_CHECKING:
    from gradsight_server.alerts.dispatch import AlertDispatch
    from gradsight_server.api.access import AuthGate


@dataclass
class AppContext:
    settings: Settings
    db: Database
    queue: IngestQueue
    broadcaster: Broadcaster = field(default_factory=Broadcaster)
    should_exit: Callable[[], bool] = lambda: False
    """True once the server is shutting down (set by ``gradsight-server serve``): streams end."""
    auth: AuthGate | None = None
    alerts: AlertDispatch | None = None


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]

"""Process-wide objects the routes need, created in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from gradsight_server.ingest.queue import IngestQueue
from gradsight_server.settings import Settings
from gradsight_server.store.engine import Database


@dataclass
class AppContext:
    settings: Settings
    db: Database
    queue: IngestQueue


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from gradsight_server import __version__
from gradsight_server.api.access import Public
from gradsight_server.api.context import ContextDep
from gradsight_server.api.schemas import HealthOut
from gradsight_server.store.migrate import current_revision

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut, dependencies=[Depends(Public())])
async def health(ctx: ContextDep) -> dict[str, object]:
    """Liveness, versions, and which store and queue this server uses."""
    revision = await run_in_threadpool(current_revision, ctx.db.url)
    return {
        "status": "ok",
        "version": __version__,
        "store": ctx.db.backend,
        "queue": ctx.queue.name,
        "schema_revision": revision,
    }

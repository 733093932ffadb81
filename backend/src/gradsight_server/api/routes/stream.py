"""``GET /runs/{id}/stream``: server-sent events for a live run (ARCHITECTURE.md ⚑ REST API).

``event: steps`` with ``{"last_step": n}`` when stored data reaches a new step (first on
connect, then as batches are applied); later ``event: diagnosis``. A comment line every
``KEEPALIVE_S`` keeps proxies from closing an idle stream; ``retry:`` tells the browser's
EventSource how soon to reconnect. The stream ends when the client leaves or the server
shuts down (checked every second, so a stop is not held up by open dashboards).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from gradsight_server.api.broadcast import RESYNC
from gradsight_server.api.context import AppContext, ContextDep
from gradsight_server.api.routes.runs import NOT_FOUND, READ_RUN, RunId
from gradsight_server.errors import RunNotFound
from gradsight_server.ingest.notices import STEPS
from gradsight_server.runs import service

router = APIRouter(tags=["runs"])

KEEPALIVE_S = 15.0
TICK_S = 1.0
RECONNECT_MS = 3000


def event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def _last_step(ctx: AppContext, run_id: str) -> int | None:
    """The run's last stored step; None if unknown right now (database away: keep streaming)."""
    try:
        run = await run_in_threadpool(service.get, ctx.db, run_id)
    except (RunNotFound, SQLAlchemyError):
        return None
    step: int | None = run["last_step"]
    return step


async def _events(ctx: AppContext, run_id: str) -> AsyncIterator[bytes]:
    yield f"retry: {RECONNECT_MS}\n\n".encode()
    with ctx.broadcaster.subscribe(run_id) as subscription:
        # Subscribed before reading, so a batch applied in between is not missed.
        sent = await _last_step(ctx, run_id)
        if sent is not None:
            yield event(STEPS, {"last_step": sent})
        idle = 0.0
        while not (subscription.closed or ctx.should_exit()):
            notices = await subscription.next(TICK_S)
            if not notices:
                idle += TICK_S
                if idle >= KEEPALIVE_S:
                    idle = 0.0
                    yield b": keepalive\n\n"
                continue
            idle = 0.0
            for notice in notices:
                if notice.event == RESYNC:
                    step = await _last_step(ctx, run_id)
                elif notice.event == STEPS:
                    step = notice.data.get("last_step")
                else:
                    yield event(notice.event, notice.data)
                    continue
                # Workers may publish out of commit order; the run's last step only grows.
                if isinstance(step, int) and (sent is None or step > sent):
                    sent = step
                    yield event(STEPS, {"last_step": step})


@router.get(
    "/runs/{run_id}/stream",
    responses={**NOT_FOUND, 200: {"content": {"text/event-stream": {}}, "description": "an event stream"}},
    response_class=StreamingResponse,
    dependencies=READ_RUN,
)
async def stream(run_id: RunId, ctx: ContextDep) -> StreamingResponse:
    """Server-sent events: ``steps`` ``{"last_step": n}`` as data arrives (then ``diagnosis``)."""
    await run_in_threadpool(service.get, ctx.db, run_id)  # 404 before the stream starts
    return StreamingResponse(
        _events(ctx, run_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )

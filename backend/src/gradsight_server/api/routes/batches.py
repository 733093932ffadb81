from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from gradsight_server.api.context import AppContext, ContextDep
from gradsight_server.api.json import FastJSONResponse
from gradsight_server.api.routes.runs import INGEST_RUN, RunId
from gradsight_server.api.schemas import BatchAccepted, ErrorOut
from gradsight_server.ingest import service
from gradsight_server.wire.decode import WireError, decode_batch, inflate, media_type
from gradsight_server.wire.model import JSON_TYPE, MSGPACK_TYPE

router = APIRouter(tags=["ingest"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 413, 415, 422, 429, 503)
}
_BODY_SCHEMA = {"$ref": "#/components/schemas/BatchV1"}


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise WireError(413, f"body is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise WireError(413, f"body is larger than {limit} bytes")
    return bytes(body)


def _ingest(
    ctx: AppContext, run_id: str, body: bytes, content_type: str, encoding: str | None
) -> service.StageResult:
    payload = inflate(body, encoding, ctx.settings.max_batch_bytes)
    batch = decode_batch(payload, content_type, ctx.settings.max_batch_points)
    if batch.run_id != run_id:
        raise WireError(422, f"run_id {batch.run_id!r} does not match the URL", ("body", "run_id"))
    result = service.stage(ctx.db, run_id, batch, media_type(content_type), payload)
    if result.status == "accepted" and result.ledger_pk is not None:
        service.enqueue(ctx.db, ctx.queue, result.ledger_pk)
    elif result.status == "heartbeat" and result.run_pk is not None:
        # A run that only heartbeats has stopped closing steps: let stalled_run look at it.
        service.request_diagnosis(ctx.queue, result.run_pk)
    return result


@router.post(
    "/runs/{run_id}/batches",
    status_code=202,
    response_model=BatchAccepted,
    responses=_ERRORS,
    dependencies=INGEST_RUN,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                JSON_TYPE: {"schema": _BODY_SCHEMA},
                MSGPACK_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def ingest_batch(run_id: RunId, request: Request, ctx: ContextDep) -> FastJSONResponse:
    """Ingest one batch (docs/wire-format.md). Answers 202 once the batch is staged durably in
    the database (Redis being down does not matter: the batch is queued when it returns);
    re-sending a batch id already received is a no-op (``status: duplicate``, its points
    counted in ``duplicates``). 503 + Retry-After when the database is unavailable."""
    body = await read_limited(request, ctx.settings.max_batch_bytes)
    result = await run_in_threadpool(
        _ingest,
        ctx,
        run_id,
        body,
        request.headers.get("content-type", ""),
        request.headers.get("content-encoding"),
    )
    new = result.points if result.status == "accepted" else 0
    return FastJSONResponse(
        {
            "batch_id": result.batch_id,
            "status": result.status,
            "points": result.points,
            "inserted": new,
            "duplicates": result.points - new,
        },
        status_code=202,
    )

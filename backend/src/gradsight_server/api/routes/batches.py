from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from gradsight_server.api.context import AppContext, ContextDep
from gradsight_server.api.json import FastJSONResponse
from gradsight_server.api.routes.runs import RunId
from gradsight_server.api.schemas import BatchAccepted, ErrorOut
from gradsight_server.ingest import service
from gradsight_server.wire.decode import WireError, decode_batch, inflate, media_type
from gradsight_server.wire.model import JSON_TYPE, MSGPACK_TYPE

log = logging.getLogger(__name__)
router = APIRouter(tags=["ingest"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 404, 413, 415, 422, 503)
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
        try:
            ctx.queue.enqueue(result.ledger_pk)
        except Exception:
            # The batch is already durable in the ledger; the maintenance sweep enqueues it
            # again once the broker is back, so the client need not resend.
            log.warning("could not enqueue batch %s; the sweep will retry", result.ledger_pk, exc_info=True)
    return result


@router.post(
    "/runs/{run_id}/batches",
    status_code=202,
    response_model=BatchAccepted,
    responses=_ERRORS,
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
    """Ingest one batch (docs/wire-format.md). Answers 202 once the batch is staged durably;
    re-sending a batch id already received is a no-op (``status: duplicate``)."""
    body = await read_limited(request, ctx.settings.max_batch_bytes)
    result = await run_in_threadpool(
        _ingest,
        ctx,
        run_id,
        body,
        request.headers.get("content-type", ""),
        request.headers.get("content-encoding"),
    )
    return FastJSONResponse(
        {"batch_id": result.batch_id, "status": result.status, "points": result.points},
        status_code=202,
    )

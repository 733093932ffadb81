"""Raw point export (CSV or Parquet), streamed."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from gradsight_server.api.context import ContextDep
from gradsight_server.api.routes.runs import NOT_FOUND, READ_RUN, RunId
from gradsight_server.errors import RunNotFound
from gradsight_server.query import export
from gradsight_server.store.engine import Database
from gradsight_server.store.runs import get

router = APIRouter(tags=["export"])


def _run_pk(db: Database, run_id: str) -> int:
    with db.session() as session:
        run = get(session, run_id)
        if run is None:
            raise RunNotFound(run_id)
        return run.pk


@router.get(
    "/runs/{run_id}/export",
    response_class=StreamingResponse,
    responses={**NOT_FOUND, 200: {"content": {t: {} for t in export.MEDIA_TYPES.values()}}},
    dependencies=READ_RUN,
)
async def export_run(
    run_id: RunId, ctx: ContextDep, fmt: Annotated[Literal["csv", "parquet"], Query(alias="format")] = "csv"
) -> StreamingResponse:
    """Every raw point of the run: ``step, key, value, wall_time`` rows, ordered by step window
    (65,536 steps), key, step. NaN and ±Infinity are kept (CSV: ``nan``, ``inf``, ``-inf``)."""
    run_pk = await run_in_threadpool(_run_pk, ctx.db, run_id)
    stream = export.csv_stream if fmt == "csv" else export.parquet_stream
    return StreamingResponse(
        stream(ctx.db, run_pk),
        media_type=export.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{run_id}.{fmt}"'},
    )

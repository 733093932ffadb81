from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool

from gradsight_server.api.context import ContextDep
from gradsight_server.api.json import FastJSONResponse
from gradsight_server.api.routes.runs import NOT_FOUND, READ_RUN, RunId
from gradsight_server.api.schemas import SeriesResponse
from gradsight_server.query.service import read_series
from gradsight_server.wire.decode import MAX_KEY_LENGTH, MAX_STEP

router = APIRouter(tags=["series"])

MAX_KEYS_PER_QUERY = 64
MAX_POINTS = 10_000
Step = Annotated[int | None, Query(ge=0, le=MAX_STEP)]


def parse_keys(keys: str) -> list[str]:
    names = [k.strip() for k in keys.split(",") if k.strip()]
    problem = None
    if not names:
        problem = "give at least one key"
    elif len(names) > MAX_KEYS_PER_QUERY:
        problem = f"at most {MAX_KEYS_PER_QUERY} keys per request"
    elif any(len(k) > MAX_KEY_LENGTH for k in names):
        problem = f"keys are at most {MAX_KEY_LENGTH} characters"
    if problem:
        raise RequestValidationError([{"loc": ("query", "keys"), "msg": problem, "type": "value_error"}])
    return list(dict.fromkeys(names))


@router.get(
    "/runs/{run_id}/series",
    response_model=SeriesResponse,
    response_class=FastJSONResponse,
    responses=NOT_FOUND,
    dependencies=READ_RUN,
)
async def get_series(
    run_id: RunId,
    ctx: ContextDep,
    keys: Annotated[str, Query(max_length=20_000, description="comma-separated metric names")],
    start: Step = None,
    end: Step = None,
    points: Annotated[int, Query(ge=1, le=MAX_POINTS)] = 1000,
) -> Any:
    """Downsampled series: at most ``points`` buckets per key over ``[start, end)``, each with
    min/max/mean over finite values, the last value as logged and the non-finite count."""
    names = parse_keys(keys)
    if start is not None and end is not None and end <= start:
        raise RequestValidationError(
            [{"loc": ("query", "end"), "msg": "end must be greater than start", "type": "value_error"}]
        )
    body = await run_in_threadpool(read_series, ctx.db, run_id, names, start, end, points)
    return FastJSONResponse(body)

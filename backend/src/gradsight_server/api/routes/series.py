"""Query routes: downsampled series, the same keys across runs, and per-layer heatmaps."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool

from gradsight_server.api.access import Grant, InProjects
from gradsight_server.api.context import ContextDep
from gradsight_server.api.json import FastJSONResponse
from gradsight_server.api.routes.runs import NOT_FOUND, READ_RUN, RunId
from gradsight_server.api.schemas import RUN_ID_PATTERN, CompareResponse, MatrixResponse, SeriesResponse
from gradsight_server.auth.model import Permission
from gradsight_server.query.service import read_compare, read_matrix, read_series
from gradsight_server.wire.decode import MAX_KEY_LENGTH, MAX_STEP

router = APIRouter(tags=["series"])

MAX_KEYS_PER_QUERY = 64
MAX_RUNS_PER_COMPARE = 50
MAX_SERIES_PER_COMPARE = 256
MAX_POINTS = 10_000
Step = Annotated[int | None, Query(ge=0, le=MAX_STEP)]
Points = Annotated[int, Query(ge=1, le=MAX_POINTS, description="at most this many buckets per series")]


def _invalid(field: str, problem: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("query", field), "msg": problem, "type": "value_error"}])


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
        raise _invalid("keys", problem)
    return list(dict.fromkeys(names))


def parse_runs(runs: str) -> list[str]:
    ids = list(dict.fromkeys(r.strip() for r in runs.split(",") if r.strip()))
    if not ids:
        raise _invalid("runs", "give at least one run id")
    if len(ids) > MAX_RUNS_PER_COMPARE:
        raise _invalid("runs", f"at most {MAX_RUNS_PER_COMPARE} runs per request")
    bad = [r for r in ids if not re.fullmatch(RUN_ID_PATTERN, r)]
    if bad:
        raise _invalid("runs", f"not a run id: {bad[0][:80]!r}")
    return ids


def check_range(start: int | None, end: int | None) -> None:
    if start is not None and end is not None and end <= start:
        raise _invalid("end", "end must be greater than start")


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
    points: Points = 1000,
) -> Any:
    """Downsampled series: at most ``points`` buckets per key over ``[start, end)``, each with
    min/max/mean over finite values, the last value as logged and the non-finite count."""
    names = parse_keys(keys)
    check_range(start, end)
    body = await run_in_threadpool(read_series, ctx.db, run_id, names, start, end, points)
    return FastJSONResponse(body)


@router.get(
    "/compare",
    response_model=CompareResponse,
    response_class=FastJSONResponse,
    responses=NOT_FOUND,
)
async def compare(
    ctx: ContextDep,
    grant: Annotated[Grant, Depends(InProjects(Permission.READ))],
    runs: Annotated[str, Query(max_length=4_000, description="comma-separated run ids")],
    keys: Annotated[str, Query(max_length=20_000, description="comma-separated metric names")],
    start: Step = None,
    end: Step = None,
    points: Points = 1000,
) -> Any:
    """The same keys across runs: ``{"runs": [{"run_id", "series": [...]}]}``, each entry shaped
    like a series response, in the order asked. A key's buckets have the same width in every
    run, so they line up. An unknown run is a 404 naming it."""
    run_ids, names = parse_runs(runs), parse_keys(keys)
    if len(run_ids) * len(names) > MAX_SERIES_PER_COMPARE:
        raise _invalid("keys", f"runs × keys is at most {MAX_SERIES_PER_COMPARE}")
    check_range(start, end)
    body = await run_in_threadpool(read_compare, ctx.db, run_ids, names, start, end, points, grant.projects)
    return FastJSONResponse(body)


@router.get(
    "/runs/{run_id}/matrix",
    response_model=MatrixResponse,
    response_class=FastJSONResponse,
    responses=NOT_FOUND,
    dependencies=READ_RUN,
)
async def matrix(
    run_id: RunId,
    ctx: ContextDep,
    family: Annotated[
        str, Query(min_length=2, max_length=MAX_KEY_LENGTH, description="a per-layer family, e.g. grad_norm/")
    ],
    start: Step = None,
    end: Step = None,
    points: Points = 1000,
    agg: Literal["min", "max", "mean", "last"] = "max",
) -> Any:
    """A per-layer family as layers (model order) × step buckets of one aggregate, for
    heatmaps. Buckets are shared by all layers; a layer without points in one is null."""
    if not family.endswith("/"):
        raise _invalid("family", "a family is a key prefix ending with '/', e.g. grad_norm/")
    check_range(start, end)
    body = await run_in_threadpool(read_matrix, ctx.db, run_id, family, start, end, points, agg)
    return FastJSONResponse(body)

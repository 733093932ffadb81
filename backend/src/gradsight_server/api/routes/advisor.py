from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from gradsight_server.api.context import ContextDep
from gradsight_server.api.json import FastJSONResponse
from gradsight_server.api.routes.runs import NOT_FOUND, READ_RUN, RunId
from gradsight_server.diagnosis.service import advise_run

router = APIRouter(tags=["diagnosis"])


@router.get(
    "/runs/{run_id}/advisor", responses=NOT_FOUND, response_class=FastJSONResponse, dependencies=READ_RUN
)
async def run_advisor(run_id: RunId, ctx: ContextDep) -> Any:
    """Hyper-parameter advice: the Step Law prior for the learning rate and batch size from the
    run's non-embedding parameters and tokens, compared with what the run uses, and the gradient
    noise scale when the agent reports it."""
    body: dict[str, Any] = await run_in_threadpool(advise_run, ctx.db, run_id)
    return FastJSONResponse(body)

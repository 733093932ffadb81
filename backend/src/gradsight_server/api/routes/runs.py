from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from starlette.concurrency import run_in_threadpool

from gradsight_server.api.access import Grant, InProjects, OnRun
from gradsight_server.api.context import ContextDep
from gradsight_server.api.schemas import (
    NAME_PATTERN,
    RUN_ID_PATTERN,
    DiagnosisList,
    ErrorOut,
    KeyList,
    RunCreate,
    RunList,
    RunOut,
    Status,
)
from gradsight_server.auth.model import Permission
from gradsight_server.runs import service

router = APIRouter(tags=["runs"])

RunId = Annotated[str, Path(pattern=RUN_ID_PATTERN, description="the client-made run id")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}}
READ_RUN = [Depends(OnRun(Permission.READ))]
INGEST_RUN = [Depends(OnRun(Permission.INGEST))]


@router.post(
    "/runs",
    response_model=RunOut,
    status_code=201,
    responses={200: {"model": RunOut, "description": "resumed"}, 409: {"model": ErrorOut}},
)
async def create_run(
    body: RunCreate,
    ctx: ContextDep,
    response: Response,
    grant: Annotated[Grant, Depends(InProjects(Permission.INGEST))],
) -> dict[str, Any]:
    """Create a run with the client's id, or resume the run that has it (idempotent)."""
    grant.require(body.project)
    result = await run_in_threadpool(
        service.create_or_resume,
        ctx.db,
        body.id,
        body.project,
        body.name,
        body.config,
        body.metadata,
        lambda project: bool(grant.principal.permissions(project)),
    )
    response.status_code = 201 if result.created else 200
    return result.run


@router.get("/runs", response_model=RunList)
async def list_runs(
    ctx: ContextDep,
    grant: Annotated[Grant, Depends(InProjects(Permission.READ))],
    project: Annotated[str | None, Query(max_length=128, pattern=NAME_PATTERN)] = None,
    q: Annotated[str | None, Query(max_length=200, pattern=NAME_PATTERN)] = None,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> dict[str, Any]:
    """Runs, newest first, filtered by project, status and a text search over id, name and project."""
    return await run_in_threadpool(
        service.list_runs,
        ctx.db,
        project=project,
        q=q,
        status=status,
        limit=limit,
        offset=offset,
        projects=grant.projects,
    )


@router.get("/runs/{run_id}", response_model=RunOut, responses=NOT_FOUND, dependencies=READ_RUN)
async def get_run(run_id: RunId, ctx: ContextDep) -> dict[str, Any]:
    return await run_in_threadpool(service.get, ctx.db, run_id)


@router.post("/runs/{run_id}/finish", response_model=RunOut, responses=NOT_FOUND, dependencies=INGEST_RUN)
async def finish_run(run_id: RunId, ctx: ContextDep) -> dict[str, Any]:
    """Mark the run finished (a batch with ``final: true`` does the same)."""
    return await run_in_threadpool(service.finish, ctx.db, run_id)


@router.delete(
    "/runs/{run_id}",
    status_code=204,
    responses=NOT_FOUND,
    dependencies=[Depends(OnRun(Permission.DELETE_RUNS))],
)
async def delete_run(run_id: RunId, ctx: ContextDep) -> Response:
    """Delete the run and all its data."""
    await run_in_threadpool(service.delete, ctx.db, run_id)
    return Response(status_code=204)


@router.get("/runs/{run_id}/keys", response_model=KeyList, responses=NOT_FOUND, dependencies=READ_RUN)
async def run_keys(run_id: RunId, ctx: ContextDep) -> dict[str, Any]:
    return {"items": await run_in_threadpool(service.keys, ctx.db, run_id)}


@router.get(
    "/runs/{run_id}/diagnoses", response_model=DiagnosisList, responses=NOT_FOUND, dependencies=READ_RUN
)
async def run_diagnoses(run_id: RunId, ctx: ContextDep) -> dict[str, Any]:
    return {"items": await run_in_threadpool(service.run_diagnoses, ctx.db, run_id)}

"""Projects, their members and their API keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response
from starlette.concurrency import run_in_threadpool

from gradsight_server.api.access import InProjects, OnProject, ProjectPath, ServerAdmin
from gradsight_server.api.account_schemas import (
    KeyIn,
    KeyList,
    KeyOut,
    Member,
    MemberIn,
    MemberList,
    NewKey,
    ProjectIn,
    ProjectList,
    ProjectRole,
)
from gradsight_server.api.context import ContextDep
from gradsight_server.api.schemas import ErrorOut
from gradsight_server.auth import service
from gradsight_server.auth.model import USERNAME_PATTERN, Permission, Principal

router = APIRouter(tags=["projects"])
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (401, 403, 404, 409)}
UsernamePath = Annotated[str, Path(min_length=1, max_length=64, pattern=USERNAME_PATTERN)]
KeyIdPath = Annotated[int, Path(ge=1, le=2**62, description="the key's id")]


@router.get("/projects", response_model=ProjectList, responses=ERRORS)
async def list_projects(
    ctx: ContextDep, grant: Annotated[Any, Depends(InProjects(Permission.READ))]
) -> dict[str, Any]:
    """The projects the caller may see, with the caller's role in each."""
    principal: Principal = grant.principal
    return {"items": await run_in_threadpool(service.list_projects, ctx.db, principal, grant.projects)}


@router.post("/projects", response_model=ProjectRole, status_code=201, responses=ERRORS)
async def create_project(
    body: ProjectIn, ctx: ContextDep, admin: Annotated[Principal, Depends(ServerAdmin())]
) -> dict[str, Any]:
    """Create a project (server administrators). Runs already sent with this project name
    become the project's runs."""
    project = await run_in_threadpool(service.create_project, ctx.db, body.name, admin.user_pk)
    return {**project, "role": "admin"}


MANAGE = [Depends(OnProject(Permission.MANAGE_PROJECT))]
KEYS = [Depends(OnProject(Permission.MANAGE_KEYS))]


@router.get(
    "/projects/{project}/members",
    response_model=MemberList,
    responses=ERRORS,
    dependencies=[Depends(OnProject(Permission.READ))],
)
async def list_members(project: ProjectPath, ctx: ContextDep) -> dict[str, Any]:
    return {"items": await run_in_threadpool(service.members, ctx.db, project)}


@router.put(
    "/projects/{project}/members/{username}", response_model=Member, responses=ERRORS, dependencies=MANAGE
)
async def set_member(project: ProjectPath, username: UsernamePath, body: MemberIn, ctx: ContextDep) -> Any:
    """Add a user to the project with a role, or change their role (project admins)."""
    return await run_in_threadpool(service.set_member, ctx.db, project, username, body.role)


@router.delete(
    "/projects/{project}/members/{username}", status_code=204, responses=ERRORS, dependencies=MANAGE
)
async def remove_member(project: ProjectPath, username: UsernamePath, ctx: ContextDep) -> Response:
    await run_in_threadpool(service.remove_member, ctx.db, project, username)
    return Response(status_code=204)


@router.get("/projects/{project}/keys", response_model=KeyList, responses=ERRORS, dependencies=KEYS)
async def list_keys(project: ProjectPath, ctx: ContextDep) -> dict[str, Any]:
    """The project's API keys (never the keys themselves: only their first characters)."""
    return {"items": await run_in_threadpool(service.list_keys, ctx.db, project)}


@router.post("/projects/{project}/keys", response_model=NewKey, status_code=201, responses=ERRORS)
async def create_key(
    project: ProjectPath,
    body: KeyIn,
    ctx: ContextDep,
    principal: Annotated[Principal, Depends(OnProject(Permission.MANAGE_KEYS))],
) -> dict[str, Any]:
    """A new key for agents (``ingest``) or scripts (``read``). The answer holds the key; it
    is shown this once and only its hash is stored."""
    return await run_in_threadpool(
        service.create_key, ctx.db, project, body.name, body.scope, body.rate_limit_per_min, principal.user_pk
    )


@router.delete(
    "/projects/{project}/keys/{key_id}", response_model=KeyOut, responses=ERRORS, dependencies=KEYS
)
async def revoke_key(project: ProjectPath, key_id: KeyIdPath, ctx: ContextDep) -> dict[str, Any]:
    """Revoke a key: requests with it are refused from now on."""
    return await run_in_threadpool(service.revoke_key, ctx.db, project, key_id)

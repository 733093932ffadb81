"""User accounts (server administrators only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from starlette.concurrency import run_in_threadpool

from gradsight_server.api.access import Authenticated, ServerAdmin
from gradsight_server.api.account_schemas import PasswordIn, UserIn, UserList, UserOut
from gradsight_server.api.context import ContextDep
from gradsight_server.api.routes.projects import ERRORS, UsernamePath
from gradsight_server.auth import service
from gradsight_server.auth.model import Principal
from gradsight_server.errors import Forbidden

router = APIRouter(tags=["users"])
ADMIN = [Depends(ServerAdmin())]


@router.get("/users", response_model=UserList, responses=ERRORS, dependencies=ADMIN)
async def list_users(ctx: ContextDep) -> dict[str, Any]:
    return {"items": await run_in_threadpool(service.list_users, ctx.db)}


@router.post("/users", response_model=UserOut, status_code=201, responses=ERRORS, dependencies=ADMIN)
async def create_user(body: UserIn, ctx: ContextDep) -> dict[str, Any]:
    """Create a user (add them to projects with ``PUT /projects/{project}/members/{username}``)."""
    return await run_in_threadpool(
        service.create_user, ctx.db, body.username, body.password, admin=body.admin
    )


@router.delete("/users/{username}", status_code=204, responses=ERRORS)
async def delete_user(
    username: UsernamePath, ctx: ContextDep, admin: Annotated[Principal, Depends(ServerAdmin())]
) -> Response:
    await run_in_threadpool(service.delete_user, ctx.db, username, admin.user_pk)
    return Response(status_code=204)


@router.put("/users/{username}/password", status_code=204, responses=ERRORS)
async def set_password(
    username: UsernamePath,
    body: PasswordIn,
    ctx: ContextDep,
    principal: Annotated[Principal, Depends(Authenticated())],
) -> Response:
    """Change a password (your own, or anyone's as a server administrator). Every session of
    that user ends."""
    if not (principal.is_admin or (principal.kind == "user" and principal.username == username.lower())):
        raise Forbidden("you may change only your own password")
    await run_in_threadpool(service.set_password, ctx.db, username, body.password)
    return Response(status_code=204)

"""Dashboard sign-in: ``POST /auth/login`` sets an HttpOnly session cookie (SameSite=Lax) and a
readable CSRF cookie whose value must come back as ``X-CSRF-Token`` on every request that
changes something; ``GET /auth/me`` says who is signed in (401 when nobody is and the server
requires it); ``POST /auth/logout`` ends the session."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from gradsight_server.api.access import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Authenticated,
    Public,
)
from gradsight_server.api.account_schemas import LoginIn, LoginOut, Me
from gradsight_server.api.context import ContextDep
from gradsight_server.api.schemas import ErrorOut
from gradsight_server.auth import service
from gradsight_server.auth.model import Principal
from gradsight_server.errors import RateLimited, Unauthenticated

router = APIRouter(tags=["auth"])
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (401, 403, 429)}


def _secure(request: Request, configured: bool | None) -> bool:
    return configured if configured is not None else request.url.scheme == "https"


@router.post("/auth/login", response_model=LoginOut, responses=ERRORS, dependencies=[Depends(Public())])
async def login(body: LoginIn, request: Request, response: Response, ctx: ContextDep) -> dict[str, Any]:
    """Sign in with a user name and password. Failed attempts are limited per user name
    (``GRADSIGHT_LOGIN_RATE_LIMIT_PER_MIN``) and per client address (five times that, since
    a team may share one address); successful ones are not counted."""
    assert ctx.auth is not None
    limiter, limit = ctx.auth.limiter, ctx.settings.login_rate_limit_per_min
    client = request.client.host if request.client else "unknown"
    buckets = ((f"login-user:{body.username.lower()}", limit), (f"login-addr:{client}", limit * 5))
    for bucket, most in buckets:
        wait = await run_in_threadpool(limiter.blocked, bucket, most)
        if wait is not None:
            raise RateLimited("too many failed sign-in attempts; wait a minute", wait)
    ttl = timedelta(seconds=ctx.settings.session_ttl_s)
    result = await run_in_threadpool(service.login, ctx.db, body.username, body.password, ttl)
    if result is None:
        for bucket, most in buckets:
            await run_in_threadpool(limiter.hit, bucket, most)
        raise Unauthenticated("wrong user name or password")
    secure = _secure(request, ctx.settings.cookie_secure)
    common: dict[str, Any] = {"max_age": ctx.settings.session_ttl_s, "path": "/", "secure": secure}
    response.set_cookie(SESSION_COOKIE, result.token, httponly=True, samesite="lax", **common)
    response.set_cookie(CSRF_COOKIE, result.csrf_token, httponly=False, samesite="strict", **common)
    return {"user": result.user, "csrf_token": result.csrf_token}


@router.post("/auth/logout", status_code=204, responses=ERRORS)
async def logout(principal: Annotated[Principal, Depends(Authenticated())], ctx: ContextDep) -> Response:
    """End this dashboard session (a no-op for API keys and in local mode)."""
    if principal.session_pk is not None:
        await run_in_threadpool(service.logout, ctx.db, principal.session_pk)
    out = Response(status_code=204)
    out.delete_cookie(SESSION_COOKIE, path="/")
    out.delete_cookie(CSRF_COOKIE, path="/")
    return out


@router.get("/auth/me", response_model=Me, responses=ERRORS)
async def me(principal: Annotated[Principal, Depends(Authenticated())], ctx: ContextDep) -> dict[str, Any]:
    """Who is asking: the mode, the user and the projects they may see with their role."""
    user = None
    if principal.kind == "user" and principal.username is not None:
        user = {"username": principal.username, "admin": principal.is_admin}
    visible = principal.visible_projects()
    projects = await run_in_threadpool(service.list_projects, ctx.db, principal, visible)
    return {
        "mode": "local" if principal.kind == "local" else "authenticated",
        "kind": principal.kind,
        "user": user,
        "projects": projects,
        "csrf_token": principal.csrf_token,
    }

"""Who may call which route. Every ``/api/v1`` route depends on exactly one :class:`Policy`
(tests/backend/test_access_policy.py fails for a route that does not), so a route added
later cannot silently skip authorization:

- ``Public()``: anyone (health, sign-in).
- ``Authenticated()``: any signed-in user or valid key (who am I, sign out).
- ``ServerAdmin()``: a server administrator (users, new projects).
- ``OnRun(permission)``: the ``{run_id}`` in the path, resolved to its project; a run in a
  project the caller cannot see at all is a 404, exactly like a run that does not exist.
- ``OnProject(permission)``: the ``{project}`` in the path (members, keys, webhooks).
- ``InProjects(permission)``: lists and searches (``grant.projects`` filters the query) and
  bodies that name a project (``grant.require(project)``).

Local mode (loopback bind, no users, ``GRADSIGHT_AUTH=auto``) resolves everyone to the one
local user with every permission, so the contract's routes behave exactly as before.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from starlette.concurrency import run_in_threadpool

from gradsight_server.api.context import ContextDep
from gradsight_server.api.schemas import NAME_PATTERN, RUN_ID_PATTERN
from gradsight_server.auth import service as accounts
from gradsight_server.auth.model import LOCAL, Permission, Principal
from gradsight_server.auth.ratelimit import Limiter
from gradsight_server.errors import Forbidden, NotFound, RateLimited, RunNotFound, Unauthenticated
from gradsight_server.runs import service as runs
from gradsight_server.settings import Settings
from gradsight_server.store.engine import Database

log = logging.getLogger(__name__)

SESSION_COOKIE = "gradsight_session"
CSRF_COOKIE = "gradsight_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_CREDENTIAL_LENGTH = 512


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class AuthGate:
    """Decides whether this server requires authentication, and holds the rate limiter."""

    def __init__(self, settings: Settings, db: Database, limiter: Limiter) -> None:
        self.settings, self.db, self.limiter = settings, db, limiter
        self._required = settings.auth == "required" or not is_loopback(settings.host)

    def required(self) -> bool:
        """Once a user exists the server stays in authenticated mode (no restart needed after
        ``gradsight-server create-admin``); until then each check is one indexed ``LIMIT 1``."""
        if not self._required:
            self._required = accounts.auth_configured(self.db)
        return self._required


def _host_name(host_header: str) -> str:
    if host_header.startswith("["):  # [::1]:8000
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def _browser_from_elsewhere(request: Request) -> bool:
    """A browser request (browsers send Sec-Fetch-* or Origin) for a non-loopback host name:
    a DNS-rebinding page reaching a local-mode server through its own domain."""
    from_browser = "sec-fetch-site" in request.headers or "origin" in request.headers
    return from_browser and not is_loopback(_host_name(request.headers.get("host", "")))


async def _resolve(request: Request, gate: AuthGate) -> Principal:
    if not await run_in_threadpool(gate.required):
        if _browser_from_elsewhere(request):
            raise Forbidden("a local-mode server answers browsers only at a loopback address")
        return LOCAL
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > MAX_CREDENTIAL_LENGTH:
            raise Unauthenticated("send the API key as 'Authorization: Bearer <key>'")
        found = await run_in_threadpool(accounts.principal_for_key, gate.db, token)
        if found is None:
            raise Unauthenticated("invalid or revoked API key")
        limit = found.rate_limit_per_min or gate.settings.key_rate_limit_per_min
        wait = await run_in_threadpool(gate.limiter.hit, f"key:{found.principal.key_pk}", limit)
        if wait is not None:
            raise RateLimited(f"this API key is limited to {limit} requests per minute", wait)
        return found.principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and len(cookie) <= MAX_CREDENTIAL_LENGTH:
        principal = await run_in_threadpool(accounts.principal_for_session, gate.db, cookie)
        if principal is None:
            raise Unauthenticated("your session has expired; sign in again")
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "").encode()
            if not hmac.compare_digest(sent, (principal.csrf_token or "").encode()):
                raise Forbidden(f"missing or wrong {CSRF_HEADER} header (sign in again if this persists)")
        return principal
    raise Unauthenticated("sign in, or send an API key as 'Authorization: Bearer <key>'")


async def current_principal(request: Request, ctx: ContextDep) -> Principal:
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is None:
        assert ctx.auth is not None, "the app's lifespan creates the auth gate"
        cached = await _resolve(request, ctx.auth)
        request.state.principal = cached
    return cached


PrincipalDep = Annotated[Principal, Depends(current_principal)]


class Policy:
    """Base of every route's access declaration (see the module docstring)."""

    def describe(self) -> str:
        return type(self).__name__


class Public(Policy):
    async def __call__(self) -> None:
        return None


class Authenticated(Policy):
    async def __call__(self, principal: PrincipalDep) -> Principal:
        return principal


class ServerAdmin(Policy):
    async def __call__(self, principal: PrincipalDep) -> Principal:
        if not principal.is_admin:
            raise Forbidden("only a server administrator may do this")
        return principal


@dataclass(frozen=True)
class RunRef:
    id: str
    project: str
    principal: Principal


class OnRun(Policy):
    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def describe(self) -> str:
        return f"OnRun({self.permission.value})"

    async def __call__(
        self,
        run_id: Annotated[str, Path(pattern=RUN_ID_PATTERN, description="the client-made run id")],
        principal: PrincipalDep,
        ctx: ContextDep,
    ) -> RunRef:
        if principal.kind == "local":
            return RunRef(run_id, "", principal)
        project = await run_in_threadpool(runs.project_of, ctx.db, run_id)
        if project is None or not principal.permissions(project):
            raise RunNotFound(run_id)  # not visible: indistinguishable from not existing
        if not principal.can(project, self.permission):
            raise Forbidden(f"you may not {self.permission.value.replace('_', ' ')} in project {project!r}")
        return RunRef(run_id, project, principal)


ProjectPath = Annotated[str, Path(max_length=128, pattern=NAME_PATTERN, description="project name")]


class OnProject(Policy):
    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def describe(self) -> str:
        return f"OnProject({self.permission.value})"

    async def __call__(self, project: ProjectPath, principal: PrincipalDep, ctx: ContextDep) -> Principal:
        exists = await run_in_threadpool(accounts.project_exists, ctx.db, project)
        if not exists or not principal.permissions(project):
            raise NotFound(f"project {project!r} not found")
        if not principal.can(project, self.permission):
            raise Forbidden(f"you may not {self.permission.value.replace('_', ' ')} in project {project!r}")
        return principal


@dataclass(frozen=True)
class Grant:
    principal: Principal
    permission: Permission

    @property
    def projects(self) -> frozenset[str] | None:
        """The projects the caller holds the permission in (None: all). Filter queries by it."""
        return self.principal.projects_with(self.permission)

    def allows(self, project: str) -> bool:
        return self.principal.can(project, self.permission)

    def require(self, project: str) -> None:
        if not self.allows(project):
            raise Forbidden(f"you may not {self.permission.value.replace('_', ' ')} in project {project!r}")


class InProjects(Policy):
    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def describe(self) -> str:
        return f"InProjects({self.permission.value})"

    async def __call__(self, principal: PrincipalDep) -> Grant:
        return Grant(principal, self.permission)

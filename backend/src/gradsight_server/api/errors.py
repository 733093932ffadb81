"""Exception → HTTP mapping. Bad input is a 4xx naming the field; a dependency that is down
is a 503 with Retry-After (the agent retries it); nothing else may become a 5xx."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gradsight_server.api.json import FastJSONResponse
from gradsight_server.errors import (
    BadQuery,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    RunConflict,
    RunNotFound,
    Unauthenticated,
)
from gradsight_server.wire.decode import WireError

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5
FASTAPI_BODY_ERROR = "There was an error parsing the body"


def _json(status: int, detail: Any, headers: dict[str, str] | None = None) -> FastJSONResponse:
    return FastJSONResponse({"detail": detail}, status_code=status, headers=headers)


def _validation_detail(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Pydantic puts the offending input and exception objects in errors; echo neither
    # (they may be huge, binary or not JSON-serialisable).
    return [
        {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", "")), "type": err.get("type", "")}
        for err in exc.errors()
    ]


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> FastJSONResponse:
        return _json(422, _validation_detail(exc))

    @app.exception_handler(WireError)
    async def _wire(_: Request, exc: WireError) -> FastJSONResponse:
        return _json(exc.status, exc.detail())

    @app.exception_handler(RunNotFound)
    async def _not_found(_: Request, exc: RunNotFound) -> FastJSONResponse:
        return _json(404, f"run {exc.args[0]!r} not found")

    @app.exception_handler(BadQuery)
    async def _bad_query(_: Request, exc: BadQuery) -> FastJSONResponse:
        return _json(422, [{"loc": ["query", exc.field], "msg": str(exc), "type": "value_error"}])

    @app.exception_handler(RunConflict)
    async def _conflict(_: Request, exc: RunConflict) -> FastJSONResponse:
        return _json(409, str(exc))

    @app.exception_handler(NotFound)
    async def _named_not_found(_: Request, exc: NotFound) -> FastJSONResponse:
        return _json(404, str(exc))

    @app.exception_handler(Conflict)
    async def _name_taken(_: Request, exc: Conflict) -> FastJSONResponse:
        return _json(409, str(exc))

    @app.exception_handler(Invalid)
    async def _invalid(_: Request, exc: Invalid) -> FastJSONResponse:
        return _json(422, [{"loc": ["body", exc.field], "msg": str(exc), "type": "value_error"}])

    @app.exception_handler(Unauthenticated)
    async def _unauthenticated(_: Request, exc: Unauthenticated) -> FastJSONResponse:
        return _json(401, str(exc), {"WWW-Authenticate": 'Bearer realm="gradsight"'})

    @app.exception_handler(Forbidden)
    async def _forbidden(_: Request, exc: Forbidden) -> FastJSONResponse:
        return _json(403, str(exc))

    @app.exception_handler(RateLimited)
    async def _rate_limited(_: Request, exc: RateLimited) -> FastJSONResponse:
        return _json(429, str(exc), {"Retry-After": str(exc.retry_after)})

    @app.exception_handler(RecursionError)
    async def _too_deep(request: Request, exc: RecursionError) -> FastJSONResponse:
        # A JSON body nested thousands of levels deep exhausts the parser's recursion.
        return _json(400, "request body is nested too deeply")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> FastJSONResponse:
        detail: Any = exc.detail
        if exc.status_code == 400 and detail == FASTAPI_BODY_ERROR:  # e.g. a body that is not UTF-8
            detail = [{"loc": ["body"], "msg": "the body is not valid UTF-8 JSON", "type": "json_invalid"}]
        return _json(exc.status_code, detail, getattr(exc, "headers", None))

    @app.exception_handler(OperationalError)
    async def _db_down(request: Request, exc: OperationalError) -> FastJSONResponse:
        log.warning("database unavailable during %s %s: %s", request.method, request.url.path, exc)
        return _json(503, "database unavailable; retry later", {"Retry-After": str(RETRY_AFTER_S)})

    @app.exception_handler(DBAPIError)
    async def _db_error(request: Request, exc: DBAPIError) -> FastJSONResponse:
        if exc.connection_invalidated:
            return _json(503, "database unavailable; retry later", {"Retry-After": str(RETRY_AFTER_S)})
        log.exception("database error during %s %s", request.method, request.url.path)
        return _json(500, "internal error")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> FastJSONResponse:
        log.exception("unhandled error during %s %s", request.method, request.url.path)
        return _json(500, "internal error")

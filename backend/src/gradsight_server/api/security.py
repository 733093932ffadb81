"""Request hardening that applies to every route, as one ASGI middleware (no per-route code
to forget):

- **Body size.** Any request but a batch is refused past ``GRADSIGHT_MAX_REQUEST_BYTES``
  (batches have ``GRADSIGHT_MAX_BATCH_BYTES``, enforced by their route as they stream): by
  its Content-Length at once, or while a chunked body streams in. 413, nothing read further.
- **Cross-site writes.** A request that changes something and carries an ``Origin`` other
  than the server's own, or ``Sec-Fetch-Site: cross-site``, is refused (403). Agents and
  scripts send neither header; browsers always do. Defence in depth under the session
  cookie's SameSite and the CSRF token, and the only guard local mode has.
- **Headers.** ``nosniff``, no framing, same-origin referrers everywhere; a strict
  Content-Security-Policy on the dashboard and the API (the built dashboard has no inline
  scripts); ``Cache-Control: no-store`` on API answers, which may hold private data; HSTS
  when the request came over HTTPS.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gradsight_server.settings import Settings

SAFE_METHODS = frozenset({b"GET", b"HEAD", b"OPTIONS"})
CSP_DASHBOARD = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
CSP_API = "default-src 'none'; frame-ancestors 'none'"
COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
# Swagger UI (/docs) loads its script and styles from a CDN: no CSP there.
NO_CSP_PATHS = ("/docs",)


async def _reject(send: Send, status: int, detail: str) -> None:
    body = orjson.dumps({"detail": detail})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *COMMON,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _cross_site(scope: Scope) -> bool:
    if _header(scope, b"sec-fetch-site") == "cross-site":
        return True
    origin = _header(scope, b"origin")
    if origin is None:
        return False
    host = _header(scope, b"host") or ""
    return origin == "null" or urlsplit(origin).netloc.lower() != host.lower()


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings, api_prefix: str) -> None:
        self.app = app
        self.settings = settings
        self.api_prefix = api_prefix

    def _limit(self, scope: Scope) -> int:
        path: str = scope["path"]
        if scope["method"] == "POST" and path.startswith(self.api_prefix) and path.endswith("/batches"):
            return self.settings.max_batch_bytes  # the batch route enforces it while streaming
        return self.settings.max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _reject(send, 413, f"request body is larger than {limit} bytes")
            return
        if scope["method"].encode() not in SAFE_METHODS and _cross_site(scope):
            await _reject(send, 403, "cross-site requests may not change anything")
            return

        path: str = scope["path"]
        is_api = path.startswith(self.api_prefix)
        extra = [*COMMON]
        if not path.startswith(NO_CSP_PATHS):
            extra.append((b"content-security-policy", (CSP_API if is_api else CSP_DASHBOARD).encode()))
        if scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", b"max-age=31536000"))
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # FastAPI passes HTTPExceptions raised while it reads a body through to the
                    # error handlers (anything else becomes a 400 "error parsing the body").
                    raise HTTPException(413, f"request body is larger than {limit} bytes")
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers += [(k, v) for k, v in extra if k not in names]
                if is_api and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, limited_receive, send_with_headers)

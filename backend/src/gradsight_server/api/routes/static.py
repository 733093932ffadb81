"""The built dashboard: files from the static directory, index.html for client-side routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response

NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>Gradsight</title>
<h1>Gradsight server is running</h1>
<p>The dashboard is not built. Run <code>make demo</code> (or <code>cd frontend &amp;&amp; npm ci &amp;&amp;
npm run build</code>) and restart, or set <code>GRADSIGHT_STATIC_DIR</code>.</p>
<p>The API is at <a href="/api/v1/health">/api/v1/health</a>; docs at <a href="/docs">/docs</a>.</p>"""

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def find_static_dir(configured: Path | None) -> Path | None:
    """The configured directory, the package's bundled copy, or a source checkout's build."""
    package = Path(__file__).resolve().parents[2]
    candidates = (
        [configured]
        if configured
        else [
            package / "static",
            package.parents[2] / "frontend" / "dist",  # backend/src/gradsight_server → repo root
        ]
    )
    for candidate in candidates:
        if candidate is not None and (candidate / "index.html").is_file():
            return candidate.resolve()
    return None


def make_router(static_dir: Path | None) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/{path:path}")
    async def dashboard(path: str) -> Response:
        if path == "api" or path.startswith("api/"):
            raise HTTPException(404, "no such API route")
        if static_dir is None:
            return HTMLResponse(NOT_BUILT, headers=SECURITY_HEADERS)
        if any(ord(c) < 32 for c in path):  # a NUL would make the path unresolvable (ValueError)
            raise HTTPException(404, "no such file")
        target = (static_dir / path).resolve()
        if path and target.is_file() and target.is_relative_to(static_dir):
            # Vite fingerprints everything under assets/, so it may be cached for good.
            cache = "public, max-age=31536000, immutable" if path.startswith("assets/") else "no-cache"
            return FileResponse(target, headers={**SECURITY_HEADERS, "Cache-Control": cache})
        return FileResponse(
            static_dir / "index.html", headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"}
        )

    return router

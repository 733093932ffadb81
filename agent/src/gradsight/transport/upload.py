"""One batch or run creation sent to the server, and what the answer means
(ARCHITECTURE.md ⚑ Ingest semantics). Shared by the live agent and ``gradsight sync``."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from gradsight.transport import wire
from gradsight.transport.client import HttpClient, Response, TransportError

BATCH_HEADERS = {"Content-Type": wire.CONTENT_TYPE, "Content-Encoding": "gzip"}


class Verdict(enum.Enum):
    TAKEN = "taken"
    """2xx: the server made it durable (or already had it)."""
    RETRY = "retry"
    """Network error, 408, 429 or 5xx: back off and send it again."""
    NO_RUN = "no-run"
    """404 on a batch: the server does not know the run; create it, then send again."""
    REFUSED = "refused"
    """Any other 4xx: malformed or unauthorised; never send it again."""


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    status: int | None = None
    retry_after: float | None = None
    detail: str = ""
    points: int = 0
    """Points in a batch the server took."""
    duplicate: bool = False
    """The server already had the batch (a re-send): none of its points were new."""


def _judge(response: Response, *, batch: bool) -> Outcome:
    if response.ok:
        try:
            body: Any = response.json() if batch else None
        except ValueError:  # a 2xx from something in between (a proxy) that is not JSON
            body = None
        if not isinstance(body, dict):
            return Outcome(Verdict.TAKEN, response.status)
        points = body.get("points")
        return Outcome(
            Verdict.TAKEN,
            response.status,
            points=points if isinstance(points, int) else 0,
            duplicate=body.get("status") == "duplicate",
        )
    if batch and response.status == 404:
        return Outcome(Verdict.NO_RUN, 404)
    detail = response.body[:500].decode(errors="replace")
    if response.retryable:
        return Outcome(Verdict.RETRY, response.status, response.retry_after, detail)
    return Outcome(Verdict.REFUSED, response.status, detail=detail)


def post_batch(client: HttpClient, run_id: str, body: bytes) -> Outcome:
    try:
        response = client.request("POST", f"/api/v1/runs/{run_id}/batches", body, BATCH_HEADERS)
    except TransportError as exc:
        return Outcome(Verdict.RETRY, detail=str(exc))
    return _judge(response, batch=True)


def create_run(client: HttpClient, body: dict[str, Any]) -> Outcome:
    """``POST /runs``: idempotent; on an existing run it merges config and metadata."""
    try:
        response = client.post_json("/api/v1/runs", body)
    except TransportError as exc:
        return Outcome(Verdict.RETRY, detail=str(exc))
    return _judge(response, batch=False)

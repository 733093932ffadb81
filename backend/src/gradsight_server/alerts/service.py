"""Alerts service: plan deliveries when diagnoses open (inside the diagnosis transaction),
deliver one (a task of its own, never on the ingest or diagnosis path), and manage a
project's destinations.

Retries: a failed attempt (network error, timeout, 408, 429, 5xx) is tried again after
``GRADSIGHT_WEBHOOK_RETRY_BASE_S`` × 3^(attempt−1), capped at 30 minutes, jittered, up to
``GRADSIGHT_WEBHOOK_MAX_ATTEMPTS``; another 4xx or a refused destination fails it at once.
The maintenance sweep sends due retries; a delivery whose sender died is free again when its
claim (timeout + 30 s) lapses.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy.orm import Session

from gradsight_server import __version__
from gradsight_server.alerts import destinations, payloads
from gradsight_server.errors import Invalid, NotFound
from gradsight_server.settings import Settings
from gradsight_server.store import accounts
from gradsight_server.store import alerts as store
from gradsight_server.store.engine import Database
from gradsight_server.store.models import Diagnosis, Run, Webhook
from gradsight_server.store.runs import now

log = logging.getLogger(__name__)
# httpx logs every request's full URL at INFO; a chat webhook's URL is its credential.
logging.getLogger("httpx").setLevel(logging.WARNING)

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
REDISPATCH = timedelta(seconds=60)
"""How long a sent task may wait in the queue before the sweep sends it again."""
MAX_BACKOFF_S = 30 * 60
RETRYABLE = {408, 425, 429}


def _iso(t: datetime | None) -> str | None:
    return None if t is None else (t if t.tzinfo else t.replace(tzinfo=UTC)).isoformat()


# --- planning (called inside the diagnosis pass's transaction) ---------------------------


def plan(
    session: Session,
    run: Run,
    changed: Sequence[Diagnosis],
    view: Any,
    public_url: str | None,
) -> list[int]:
    """Outbox rows for every open diagnosis in ``changed`` at or above a destination's
    threshold. One row per (diagnosis, destination) ever: a diagnosis that escalates from
    warning to critical reaches a critical-only destination once, and never twice anywhere."""
    opened = [d for d in changed if d.status == "open"]
    if not opened:
        return []
    hooks = store.destinations(session, run.project)
    rows = [
        {
            "webhook_pk": hook.pk,
            "diagnosis_pk": d.pk,
            "payload": payloads.snapshot(run.project, run.id, run.name, view(d), public_url),
        }
        for d in opened
        for hook in hooks
        if SEVERITY_RANK.get(d.severity, 0) >= SEVERITY_RANK.get(hook.min_severity, 1)
    ]
    return store.plan(session, rows, REDISPATCH)


def take_due(db: Database) -> list[int]:
    with db.write_session() as session:
        return store.take_due(session, now(), REDISPATCH)


# --- delivery -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    state: str
    """delivered | pending (will retry) | failed | skipped (not ours to send now)"""
    error: str | None = None


def backoff_s(attempt: int, base_s: float) -> float:
    ceiling = min(MAX_BACKOFF_S, base_s * 3 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def _post(
    hook: Webhook, payload: dict[str, Any], delivery_pk: int, settings: Settings
) -> tuple[bool, str | None]:
    """(retry?, error) — error None means delivered. Errors name the host, never the URL."""
    host = destinations.masked(hook.url)
    if not settings.webhook_allow_private:
        refused = destinations.refuse_private(hook.url)
        if refused is not None:
            return refused.startswith(destinations.UNRESOLVED), refused  # DNS may come back
    body = orjson.dumps(payloads.render(hook.kind, payload))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"gradsight/{__version__}",
        "X-Gradsight-Event": payloads.EVENT,
        "X-Gradsight-Delivery": str(delivery_pk),
    }
    if hook.secret:
        digest = hmac.new(hook.secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Gradsight-Signature"] = f"sha256={digest}"
    try:
        # No redirects: a 3xx to an internal address would bypass the destination check.
        response = httpx.post(
            hook.url,
            content=body,
            headers=headers,
            timeout=settings.webhook_timeout_s,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        return True, f"{host}: {type(exc).__name__}"
    if 200 <= response.status_code < 300:
        return False, None
    retry = response.status_code in RETRYABLE or response.status_code >= 500
    return retry, f"{host} answered {response.status_code}"


def deliver(db: Database, delivery_pk: int, settings: Settings) -> Attempt:
    """One attempt at one delivery; safe to call for any id, any number of times."""
    lease = timedelta(seconds=settings.webhook_timeout_s + 30)
    with db.write_session() as session:
        claimed = store.claim(session, delivery_pk, lease)
        if claimed is None:
            return Attempt("skipped")
        delivery, hook = claimed
        attempts, payload = delivery.attempts, dict(delivery.payload)
        session.expunge(hook)
    retry, error = _post(hook, payload, delivery_pk, settings)
    if error is None:
        state, next_at = store.DELIVERED, None
    elif retry and attempts < settings.webhook_max_attempts:
        state = store.PENDING
        next_at = now() + timedelta(seconds=backoff_s(attempts, settings.webhook_retry_base_s))
    else:
        state, next_at = store.FAILED, None
    with db.write_session() as session:
        store.settle(session, delivery_pk, state, error, next_at)
    rule = payload.get("diagnosis", {}).get("rule")
    if error is None:
        log.info("alert %s (%s) delivered to %s", delivery_pk, rule, destinations.masked(hook.url))
    else:
        log.warning("alert %s (%s) attempt %d: %s; now %s", delivery_pk, rule, attempts, error, state)
    return Attempt(state, error)


# --- destinations -------------------------------------------------------------------------


def webhook_view(hook: Webhook) -> dict[str, Any]:
    return {
        "id": str(hook.pk),
        "name": hook.name,
        "url": destinations.masked(hook.url),
        "kind": hook.kind,
        "min_severity": hook.min_severity,
        "signed": bool(hook.secret),
        "created_at": _iso(hook.created_at),
    }


def _project_pk(session: Session, project: str) -> int:
    row = accounts.project_by_name(session, project)
    if row is None:
        raise NotFound(f"project {project!r} not found")
    return row.pk


def add_webhook(
    db: Database,
    project: str,
    name: str,
    url: str,
    kind: str,
    min_severity: str,
    secret: str | None,
    allow_private: bool,
) -> dict[str, Any]:
    destinations.check_url(url)
    if not allow_private and destinations.obviously_private(url):
        raise Invalid("url", "loopback and private addresses need GRADSIGHT_WEBHOOK_ALLOW_PRIVATE=true")
    with db.write_session() as session:
        hook = store.add_webhook(
            session, _project_pk(session, project), name, url, kind, min_severity, secret
        )
        return webhook_view(hook)


def list_webhooks(db: Database, project: str) -> list[dict[str, Any]]:
    with db.session() as session:
        return [webhook_view(h) for h in store.webhooks_of(session, _project_pk(session, project))]


def _webhook(session: Session, project: str, webhook_pk: int) -> Webhook:
    hook = store.webhook_in_project(session, _project_pk(session, project), webhook_pk)
    if hook is None:
        raise NotFound(f"webhook {webhook_pk} not found in project {project!r}")
    return hook


def delete_webhook(db: Database, project: str, webhook_pk: int) -> None:
    with db.write_session() as session:
        session.delete(_webhook(session, project, webhook_pk))


def deliveries(db: Database, project: str, webhook_pk: int) -> list[dict[str, Any]]:
    with db.session() as session:
        hook = _webhook(session, project, webhook_pk)
        return [
            {
                "id": str(d.pk),
                "diagnosis_id": str(d.diagnosis_pk),
                "run_id": run_id,
                "rule": rule,
                "state": d.state,
                "attempts": d.attempts,
                "last_error": d.last_error,
                "created_at": _iso(d.created_at),
                "delivered_at": _iso(d.delivered_at),
            }
            for d, run_id, rule in store.deliveries_of(session, hook.pk)
        ]

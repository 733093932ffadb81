"""Alert webhooks against a local HTTP receiver: planned once per (diagnosis, destination) at
or above its severity, delivered as generic JSON or Slack-style payloads, signed, retried
with backoff through the maintenance sweep, failed for good on a 4xx or a private address.
Real database (SQLite and PostgreSQL), real HTTP."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gradsight_server.alerts import service as alerts
from gradsight_server.auth import service as accounts
from gradsight_server.ingest.maintenance import sweep_alerts
from gradsight_server.runs.service import diagnosis_view
from gradsight_server.settings import Settings
from gradsight_server.store import diagnoses, migrate, runs
from gradsight_server.store.engine import Database
from gradsight_server.store.models import AlertDelivery
from tests.support.receiver import Receiver

SECRET = "a-signing-secret-of-32-characters"


@pytest.fixture(scope="module")
def db(database_url: str) -> Iterator[Database]:
    migrate.upgrade(database_url)
    database = Database(database_url)
    accounts.create_project(database, "alerts")
    yield database
    database.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def settings(**extra: Any) -> Settings:
    base: dict[str, Any] = {
        "webhook_allow_private": True,
        "webhook_retry_base_s": 0.2,
        "webhook_timeout_s": 2.0,
        "webhook_max_attempts": 3,
        "data_dir": Path("/nonexistent"),
    }
    return Settings(**{**base, **extra})


def open_diagnosis(db: Database, run_id: str, severity: str, rule: str = "divergence") -> list[int]:
    """Store an open diagnosis in a new (or existing) run and plan its alerts, as a diagnosis
    pass does; returns the planned deliveries."""
    with db.write_session() as session:
        run, _ = runs.create_or_resume(session, run_id, "alerts", "run <!channel> & co", {}, {})
        d = diagnoses.create(
            session,
            run.pk,
            {
                "rule": rule,
                "subject": "loss",
                "severity": severity,
                "status": "open",
                "first_step": 3,
                "last_step": 9,
                "summary": "loss is NaN from step 3 <b>",
                "evidence": {"step": 3},
                "recommendations": [
                    {"action": "lower_lr", "detail": "peak LR 3e-3 → 1e-3", "params": {}, "references": []}
                ],
            },
        )
        return alerts.plan(session, run, [d], diagnosis_view, "https://gradsight.example.com/")


def delivery(db: Database, pk: int) -> AlertDelivery:
    with db.session() as session:
        row = session.get(AlertDelivery, pk)
        assert row is not None
        return row


def hooks(db: Database, receiver: Receiver, *specs: tuple[str, str, str | None]) -> list[str]:
    ids = []
    for kind, severity, secret in specs:
        made = alerts.add_webhook(
            db, "alerts", kind, f"{receiver.url}/{kind}-{severity}", kind, severity, secret, True
        )
        ids.append(made["id"])
    return ids


def drop_hooks(db: Database, ids: list[str]) -> None:
    for hook_id in ids:
        alerts.delete_webhook(db, "alerts", int(hook_id))


def test_json_and_slack_payloads_signed_and_once_per_destination(db: Database, receiver: Receiver) -> None:
    ids = hooks(
        db, receiver, ("json", "warning", SECRET), ("slack", "critical", None), ("json", "critical", None)
    )
    try:
        planned = open_diagnosis(db, "alert-run-1", "critical")
        assert len(planned) == 3
        for pk in planned:
            assert alerts.deliver(db, pk, settings()).state == "delivered"
            assert alerts.deliver(db, pk, settings()).state == "skipped"  # a redelivered task is a no-op
        by_path = {r.path: r for r in receiver.received}
        assert len(receiver.received) == 3
        generic = by_path["/json-warning"]
        body = generic.json()
        assert body["event"] == "diagnosis.opened" and body["project"] == "alerts"
        assert body["run"] == {
            "id": "alert-run-1",
            "name": "run <!channel> & co",
            "url": "https://gradsight.example.com/runs/alert-run-1",
        }
        assert body["diagnosis"]["rule"] == "divergence" and body["diagnosis"]["severity"] == "critical"
        expected = hmac.new(SECRET.encode(), generic.body, hashlib.sha256).hexdigest()
        assert generic.headers["X-Gradsight-Signature"] == f"sha256={expected}"
        assert generic.headers["X-Gradsight-Delivery"] in {str(p) for p in planned}
        slack = by_path["/slack-critical"].json()
        assert "blocks" in slack and "CRITICAL" in slack["text"] and "divergence" in slack["text"]
        assert (
            "<!channel>" not in slack["text"] and "&lt;!channel&gt;" in slack["text"]
        )  # escaped: pings nobody
        assert "X-Gradsight-Signature" not in by_path["/json-critical"].headers
        # The same diagnosis seen again by the next pass plans nothing new.
        with db.write_session() as session:
            run = runs.get(session, "alert-run-1")
            assert run is not None
            again = alerts.plan(session, run, list(diagnoses.for_run(session, run.pk)), diagnosis_view, None)
        assert again == []
    finally:
        drop_hooks(db, ids)


def test_below_threshold_is_not_sent_and_escalation_is_sent_once(db: Database, receiver: Receiver) -> None:
    ids = hooks(db, receiver, ("json", "critical", None))
    try:
        assert open_diagnosis(db, "alert-run-2", "warning") == []
        with db.write_session() as session:
            run = runs.get(session, "alert-run-2")
            assert run is not None
            (d,) = diagnoses.for_run(session, run.pk)
            d.severity = "critical"  # the next pass escalates it
            session.flush()
            planned = alerts.plan(session, run, [d], diagnosis_view, None)
        assert len(planned) == 1
        assert alerts.deliver(db, planned[0], settings()).state == "delivered"
        assert open_diagnosis(db, "alert-run-2b", "info") == []
    finally:
        drop_hooks(db, ids)


def test_failures_back_off_and_the_sweep_retries_until_delivered(db: Database, receiver: Receiver) -> None:
    ids = hooks(db, receiver, ("json", "warning", None))
    receiver.statuses = [503, 500]
    try:
        (pk,) = open_diagnosis(db, "alert-run-3", "warning")
        first = alerts.deliver(db, pk, settings())
        assert first.state == "pending" and "answered 503" in (first.error or "")
        assert sweep_alerts(db, lambda p: None) == 0  # the first retry is not due yet
        sent: list[int] = []
        deadline = time.monotonic() + 30
        while delivery(db, pk).state == "pending" and time.monotonic() < deadline:
            time.sleep(0.1)
            sweep_alerts(db, sent.append)  # what the API's maintenance thread does
            while sent:
                alerts.deliver(db, sent.pop(), settings())
        row = delivery(db, pk)
        assert row.state == "delivered" and row.attempts == 3 and row.last_error is None
        assert len(receiver.received) == 3
    finally:
        drop_hooks(db, ids)


def test_a_4xx_fails_at_once_and_exhausted_retries_fail(db: Database, receiver: Receiver) -> None:
    ids = hooks(db, receiver, ("json", "warning", None))
    try:
        receiver.statuses = [404]
        (pk,) = open_diagnosis(db, "alert-run-4", "warning")
        assert alerts.deliver(db, pk, settings()).state == "failed"
        receiver.statuses = [500, 500, 500]
        (pk,) = open_diagnosis(db, "alert-run-5", "warning")
        states = []
        for _ in range(3):
            with db.write_session() as session:  # make it due at once
                row = session.get(AlertDelivery, pk)
                assert row is not None
                row.claimed_until = None
            states.append(alerts.deliver(db, pk, settings()).state)
        assert states == ["pending", "pending", "failed"]
        assert delivery(db, pk).attempts == 3
    finally:
        drop_hooks(db, ids)


def test_private_destinations_are_refused_unless_allowed(db: Database, receiver: Receiver) -> None:
    from gradsight_server.errors import Invalid

    with pytest.raises(Invalid):
        alerts.add_webhook(db, "alerts", "x", "http://127.0.0.1:9/x", "json", "warning", None, False)
    with pytest.raises(Invalid):
        alerts.add_webhook(db, "alerts", "x", "http://169.254.169.254/latest", "json", "warning", None, False)
    with pytest.raises(Invalid):
        alerts.add_webhook(db, "alerts", "x", "ftp://example.com/x", "json", "warning", None, True)
    with pytest.raises(Invalid):
        alerts.add_webhook(db, "alerts", "x", "https://user:pw@example.com/x", "json", "warning", None, True)
    # Checked again at send time (a name may resolve to a private address; the setting may change).
    made = alerts.add_webhook(db, "alerts", "x", receiver.url + "/x", "json", "warning", None, True)
    try:
        (pk,) = open_diagnosis(db, "alert-run-6", "critical")
        attempt = alerts.deliver(db, pk, settings(webhook_allow_private=False))
        assert attempt.state == "failed" and "private address" in (attempt.error or "")
        assert receiver.received == []
    finally:
        alerts.delete_webhook(db, "alerts", int(made["id"]))


def test_webhook_urls_are_masked_in_lists(db: Database) -> None:
    made = alerts.add_webhook(
        db,
        "alerts",
        "slack",
        "https://hooks.slack.example.com/services/T0/B0/s3cr3t",
        "slack",
        "warning",
        None,
        False,
    )
    try:
        listed = alerts.list_webhooks(db, "alerts")
        assert "s3cr3t" not in str(listed)
        assert any(h["url"] == "https://hooks.slack.example.com/…" for h in listed)
    finally:
        alerts.delete_webhook(db, "alerts", int(made["id"]))

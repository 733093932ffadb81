"""The work behind the queue, shared by Celery workers (ingest/celery_app.py) and the embedded
server's threads (ingest/queue.py): apply a staged batch, then announce it and ask for a
diagnosis of its run; and the diagnosis pass itself."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from gradsight_server.diagnosis.service import run_pass
from gradsight_server.ingest.notices import DIAGNOSIS, STEPS, Notice
from gradsight_server.ingest.service import ApplyResult, apply
from gradsight_server.runs.service import diagnosis_view
from gradsight_server.store.engine import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AfterApply:
    """What happens once a batch is committed. Both are best effort: their failure (Redis
    away) never fails or repeats the apply, which has already committed."""

    publish: Callable[[Notice], None]
    request_diagnosis: Callable[[int], object]


def apply_batch(db: Database, ledger_pk: int, after: AfterApply) -> ApplyResult:
    result = apply(db, ledger_pk)
    if result.status == "applied":
        log.info(
            "batch %s (%s) of run %s applied: %d points inserted in %d segments, 0 duplicates",
            ledger_pk,
            result.batch_id,
            result.run_id,
            result.points,
            result.segments,
        )
    elif result.status == "duplicate":
        log.info(
            "batch %s (%s) already applied: 0 points inserted, %d duplicates skipped (redelivery)",
            ledger_pk,
            result.batch_id,
            result.points,
        )
    else:
        log.warning("batch %s (%s) not applied: %s", ledger_pk, result.batch_id, result.status)
    if result.status != "applied" or result.run_id is None or result.run_pk is None:
        return result
    if result.last_step is not None:
        notice = Notice(result.run_id, STEPS, {"last_step": result.last_step}, result.batch_id)
        _quietly("live-update notice", after.publish, notice)
    _quietly("diagnosis request", after.request_diagnosis, result.run_pk)
    return result


def _quietly(what: str, fn: Callable[..., object], arg: object) -> None:
    try:
        fn(arg)
    except Exception as exc:
        log.warning("%s failed after a batch was applied (the data is stored): %s", what, exc)


def diagnosis_pass(
    db: Database,
    run_pk: int,
    publish: Callable[[Notice], None] | None = None,
    send_alert: Callable[[int], object] | None = None,
    public_url: str | None = None,
) -> int | None:
    """One diagnosis pass over a run's data (diagnosis/service.py): run the rules, update the
    run's diagnoses, and announce the ones that opened, resolved or changed severity on the
    live stream (``event: diagnosis``); hand the alerts it planned to ``send_alert`` (their
    outbox rows are committed, so a failure here only delays them to the next sweep).
    Returns how many diagnoses changed (None: run deleted)."""
    result = run_pass(db, run_pk, public_url)
    if result is None:
        return None
    if send_alert is not None:
        for delivery_pk in result.alerts:
            _quietly("alert hand-over", send_alert, delivery_pk)
    if publish is not None:
        for diagnosis in result.changed:
            _quietly("diagnosis notice", publish, Notice(result.run_id, DIAGNOSIS, diagnosis_view(diagnosis)))
    return len(result.changed)

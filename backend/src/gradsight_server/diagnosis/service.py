"""A diagnosis pass: load a run's data, run the rules, and apply the result to its stored
diagnoses. Rules run outside any transaction (they are CPU work); the changes are applied
under the run's diagnosis lock, reconciled against the diagnoses as they are then."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from gradsight_server.alerts import service as alerts
from gradsight_server.diagnosis import engine, loader
from gradsight_server.diagnosis.advisor import SIGNALS as ADVISOR_SIGNALS
from gradsight_server.diagnosis.advisor import advise as engine_advise
from gradsight_server.errors import RunNotFound
from gradsight_server.runs.service import diagnosis_view
from gradsight_server.settings import get_settings
from gradsight_server.store import diagnoses, runs
from gradsight_server.store.engine import Database
from gradsight_server.store.models import Diagnosis

log = logging.getLogger(__name__)


@dataclass
class PassResult:
    run_id: str
    last_step: int | None
    findings: int
    changed: list[Diagnosis] = field(default_factory=list)
    """Diagnoses created or whose status or severity changed in this pass."""
    alerts: list[int] = field(default_factory=list)
    """Alert deliveries planned in this pass (alerts/service.py), to send after commit."""


def run_pass(db: Database, run_pk: int, public_url: str | None = None) -> PassResult | None:
    """None when the run no longer exists. ``public_url``: the dashboard's address, for links
    in alerts."""
    with db.session() as session:
        run = runs.get_by_pk(session, run_pk)
        if run is None:
            return None
        data = loader.load(session, run, stall_after_s=get_settings().stall_after_s)
        run_id, last_step = run.id, run.last_step
    findings = engine.evaluate(data)
    changed: list[Diagnosis] = []
    with db.write_session() as session:
        if not diagnoses.lock_run(session, run_pk):
            return None
        stored = [
            engine.Stored(d.pk, d.rule, d.subject, d.status, d.first_step)
            for d in diagnoses.for_run(session, run_pk)
        ]
        before = {d.pk: (d.status, d.severity) for d in diagnoses.for_run(session, run_pk)}
        plan = engine.reconcile(stored, findings)
        for finding, status in plan.create:
            changed.append(diagnoses.create(session, run_pk, engine.as_row(finding, status)))
        for pk, finding, status in plan.update:
            updated = diagnoses.update(session, pk, engine.as_row(finding, status))
            if updated is not None and before.get(pk) != (updated.status, updated.severity):
                changed.append(updated)
        changed.extend(diagnoses.resolve(session, plan.resolve))
        diagnoses.record_pass(session, run_pk, last_step)
        # In the same transaction: a diagnosis that opens always has its alerts planned.
        run = runs.get_by_pk(session, run_pk)
        planned = alerts.plan(session, run, changed, diagnosis_view, public_url) if run is not None else []
    log.info(
        "diagnosis pass of run %s (data up to step %s): %d finding(s)%s",
        run_id,
        last_step,
        len(findings),
        "; " + ", ".join(f"{d.rule}/{d.subject} now {d.status} ({d.severity})" for d in changed)
        if changed
        else "",
    )
    return PassResult(run_id, last_step, len(findings), changed, planned)


def advise_run(db: Database, run_id: str) -> dict[str, Any]:
    """The advisor panel's data for a run (raises RunNotFound)."""
    with db.session() as session:
        run = runs.get(session, run_id)
        if run is None:
            raise RunNotFound(run_id)
        data = loader.load(session, run, extra=ADVISOR_SIGNALS)
    result: dict[str, Any] = engine_advise(data)
    return result

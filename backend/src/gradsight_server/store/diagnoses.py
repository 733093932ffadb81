"""Diagnosis repository (the rules engine writes here; the API reads)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from gradsight_server.store.models import Diagnosis, DiagnosisState
from gradsight_server.store.runs import now
from gradsight_server.store.upsert import insert_ignore

_SEVERITY_ORDER = case({"critical": 0, "warning": 1, "info": 2}, value=Diagnosis.severity, else_=3)


def for_run(session: Session, run_pk: int) -> Sequence[Diagnosis]:
    """Open before resolved, then most severe, then most recent."""
    return session.scalars(
        select(Diagnosis)
        .where(Diagnosis.run_pk == run_pk)
        .order_by(
            case({"open": 0}, value=Diagnosis.status, else_=1),
            _SEVERITY_ORDER,
            Diagnosis.first_step.desc(),
            Diagnosis.pk,
        )
    ).all()


def record_pass(session: Session, run_pk: int, last_step: int | None) -> int:
    """Count one diagnosis pass of the run over its data up to ``last_step``. Returns the count."""
    t = now()
    # Two passes of one run may race (the debounce window expired in between): the insert
    # ignores the conflict and the row lock orders them.
    insert_ignore(session, DiagnosisState, [{"run_pk": run_pk, "passes": 0, "last_pass_at": t}], ["run_pk"])
    state = session.get(DiagnosisState, run_pk, with_for_update=True, populate_existing=True)
    assert state is not None
    state.passes += 1
    state.last_pass_at = t
    state.last_step = last_step
    session.flush()
    return state.passes


def state_of(session: Session, run_pk: int) -> DiagnosisState | None:
    return session.get(DiagnosisState, run_pk)


def lock_run(session: Session, run_pk: int) -> bool:
    """Serialise diagnosis passes of one run: takes the run's ``diagnosis_state`` row lock
    (created if missing). Two passes that both computed findings then apply them one after
    the other, each against the diagnoses the other committed."""
    insert_ignore(
        session, DiagnosisState, [{"run_pk": run_pk, "passes": 0, "last_pass_at": now()}], ["run_pk"]
    )
    return session.get(DiagnosisState, run_pk, with_for_update=True, populate_existing=True) is not None


def create(session: Session, run_pk: int, row: dict[str, Any]) -> Diagnosis:
    t = now()
    diagnosis = Diagnosis(run_pk=run_pk, created_at=t, updated_at=t, **row)
    session.add(diagnosis)
    session.flush()
    return diagnosis


def update(session: Session, pk: int, row: dict[str, Any]) -> Diagnosis | None:
    diagnosis = session.get(Diagnosis, pk)
    if diagnosis is None:
        return None
    for name, value in row.items():
        setattr(diagnosis, name, value)
    diagnosis.updated_at = now()
    return diagnosis


def resolve(session: Session, pks: Sequence[int]) -> list[Diagnosis]:
    out = []
    for pk in pks:
        diagnosis = session.get(Diagnosis, pk)
        if diagnosis is not None and diagnosis.status != "resolved":
            diagnosis.status = "resolved"
            diagnosis.updated_at = now()
            out.append(diagnosis)
    return out

"""Diagnosis repository (the rules engine writes here; the API reads)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from gradsight_server.store.models import Diagnosis

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

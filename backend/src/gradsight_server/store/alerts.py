"""Alert repository: webhook destinations and the delivery outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from gradsight_server.store.models import AlertDelivery, Diagnosis, Project, Run, Webhook
from gradsight_server.store.runs import now
from gradsight_server.store.upsert import insert_ignore_returning

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


def add_webhook(
    session: Session, project_pk: int, name: str, url: str, kind: str, min_severity: str, secret: str | None
) -> Webhook:
    hook = Webhook(
        project_pk=project_pk,
        name=name,
        url=url,
        kind=kind,
        min_severity=min_severity,
        secret=secret,
        created_at=now(),
    )
    session.add(hook)
    session.flush()
    return hook


def webhooks_of(session: Session, project_pk: int) -> Sequence[Webhook]:
    return session.scalars(select(Webhook).where(Webhook.project_pk == project_pk).order_by(Webhook.pk)).all()


def webhook_in_project(session: Session, project_pk: int, webhook_pk: int) -> Webhook | None:
    return session.scalars(
        select(Webhook).where(Webhook.pk == webhook_pk, Webhook.project_pk == project_pk)
    ).one_or_none()


def destinations(session: Session, project: str) -> Sequence[Webhook]:
    """The webhooks of the project with this name (none when the project has no row)."""
    return session.scalars(
        select(Webhook).join(Project, Project.pk == Webhook.project_pk).where(Project.name == project)
    ).all()


def plan(session: Session, rows: Sequence[dict[str, Any]], redispatch: timedelta) -> list[int]:
    """Insert deliveries, skipping (diagnosis, webhook) pairs already planned. Returns the new
    rows' ids; their tasks are sent after commit, and the sweep sends them again after
    ``redispatch`` if that message is lost."""
    if not rows:
        return []
    t = now()
    full = [
        {**row, "state": PENDING, "attempts": 0, "next_attempt_at": t + redispatch, "created_at": t}
        for row in rows
    ]
    return insert_ignore_returning(session, AlertDelivery, full, ["diagnosis_pk", "webhook_pk"], "pk")


def take_due(session: Session, t: datetime, redispatch: timedelta, limit: int = 500) -> list[int]:
    """Pending deliveries due now and not held by a sender; stamped so that the next sweeps do
    not send them again while their message waits in the queue."""
    free = or_(AlertDelivery.claimed_until.is_(None), AlertDelivery.claimed_until < t)
    pks = list(
        session.scalars(
            select(AlertDelivery.pk)
            .where(AlertDelivery.state == PENDING, AlertDelivery.next_attempt_at <= t, free)
            .order_by(AlertDelivery.next_attempt_at)
            .limit(limit)
        ).all()
    )
    if pks:
        session.execute(
            update(AlertDelivery)
            .where(AlertDelivery.pk.in_(pks))
            .values(next_attempt_at=t + redispatch)
            .execution_options(synchronize_session=False)
        )
    return pks


def claim(session: Session, pk: int, lease: timedelta) -> tuple[AlertDelivery, Webhook] | None:
    """Take a pending delivery for one attempt, or None when it is done or another sender has
    it. The claim is a conditional UPDATE, so two workers given the same message cannot both
    send it while the lease lasts."""
    t = now()
    result = session.execute(
        update(AlertDelivery)
        .where(
            AlertDelivery.pk == pk,
            AlertDelivery.state == PENDING,
            or_(AlertDelivery.claimed_until.is_(None), AlertDelivery.claimed_until < t),
        )
        .values(claimed_until=t + lease, attempts=AlertDelivery.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        return None
    row = session.execute(
        select(AlertDelivery, Webhook)
        .join(Webhook, Webhook.pk == AlertDelivery.webhook_pk)
        .where(AlertDelivery.pk == pk)
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def settle(
    session: Session, pk: int, state: str, error: str | None, next_attempt_at: datetime | None
) -> None:
    values: dict[str, Any] = {"state": state, "claimed_until": None, "last_error": error}
    if state == DELIVERED:
        values["delivered_at"] = now()
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    session.execute(update(AlertDelivery).where(AlertDelivery.pk == pk).values(**values))


def deliveries_of(
    session: Session, webhook_pk: int, limit: int = 100
) -> list[tuple[AlertDelivery, str, str]]:
    """Recent deliveries with their diagnosis's run id and rule."""
    rows = session.execute(
        select(AlertDelivery, Run.id, Diagnosis.rule)
        .join(Diagnosis, Diagnosis.pk == AlertDelivery.diagnosis_pk)
        .join(Run, Run.pk == Diagnosis.run_pk)
        .where(AlertDelivery.webhook_pk == webhook_pk)
        .order_by(AlertDelivery.created_at.desc(), AlertDelivery.pk.desc())
        .limit(limit)
    ).all()
    return [(d, run_id, rule) for d, run_id, rule in rows]

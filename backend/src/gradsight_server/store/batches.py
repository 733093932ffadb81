"""Ingest ledger: staged batches and the applied-batch record that makes redelivery a no-op."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from gradsight_server.store.models import IngestBatch
from gradsight_server.store.runs import now
from gradsight_server.store.upsert import insert_ignore

STAGED, APPLIED, FAILED = "staged", "applied", "failed"


@dataclass(frozen=True)
class Staged:
    pk: int
    duplicate: bool
    state: str


@dataclass(frozen=True)
class Claimed:
    pk: int
    run_pk: int
    batch_id: str
    content_type: str
    payload: bytes


def stage(
    session: Session, run_pk: int, batch_id: str, content_type: str, payload: bytes, n_points: int
) -> Staged:
    """Record the batch with its payload. A batch id already in the ledger is a duplicate.

    ``enqueued_at`` is set now: the caller sends the queue message right after committing
    (and calls :func:`mark_unqueued` if that fails).
    """
    t = now()
    inserted = insert_ignore(
        session,
        IngestBatch,
        [
            {
                "run_pk": run_pk,
                "batch_id": batch_id,
                "state": STAGED,
                "content_type": content_type,
                "payload": payload,
                "n_points": n_points,
                "received_at": t,
                "enqueued_at": t,
            }
        ],
        ["run_pk", "batch_id"],
    )
    row = session.execute(
        select(IngestBatch.pk, IngestBatch.state).where(
            IngestBatch.run_pk == run_pk, IngestBatch.batch_id == batch_id
        )
    ).one()
    return Staged(pk=int(row.pk), duplicate=not inserted, state=str(row.state))


def claim(session: Session, pk: int) -> Claimed | None:
    """Take a staged batch for applying, inside the caller's transaction.

    The row lock (PostgreSQL ``FOR UPDATE``; SQLite's writer lock) makes a concurrent claim
    of the same batch wait, then find it applied and return None. If the transaction rolls
    back, the batch is staged again.
    """
    row = session.execute(
        select(IngestBatch.run_pk, IngestBatch.batch_id, IngestBatch.content_type, IngestBatch.payload)
        .where(IngestBatch.pk == pk, IngestBatch.state == STAGED)
        .with_for_update()
    ).one_or_none()
    if row is None or row.payload is None:
        return None
    session.execute(
        update(IngestBatch).where(IngestBatch.pk == pk).values(state=APPLIED, applied_at=now(), payload=None)
    )
    return Claimed(
        pk=pk,
        run_pk=int(row.run_pk),
        batch_id=str(row.batch_id),
        content_type=row.content_type,
        payload=row.payload,
    )


def mark_failed(session: Session, pk: int, error: str, payload: bytes) -> None:
    """A claimed batch that cannot be applied: kept, with its payload, for a later fix."""
    session.execute(
        update(IngestBatch)
        .where(IngestBatch.pk == pk)
        .values(state=FAILED, error=error[:2000], payload=payload)
    )


def mark_unqueued(session: Session, pks: list[int]) -> None:
    """Sending these batches' queue messages failed: the next sweep sends them without waiting."""
    if pks:
        session.execute(
            update(IngestBatch)
            .where(IngestBatch.pk.in_(pks), IngestBatch.state == STAGED)
            .values(enqueued_at=None)
        )


def take_for_requeue(session: Session, cutoff: datetime, limit: int = 1000) -> list[int]:
    """Staged batches whose queue message failed or was sent before ``cutoff`` (it may have been
    lost: Redis restarted, a process died), stamped as enqueued now, inside the caller's
    transaction. Concurrent sweeps (several API processes) skip each other's rows."""
    stale = or_(IngestBatch.enqueued_at.is_(None), IngestBatch.enqueued_at < cutoff)
    pks = [
        int(pk)
        for pk in session.scalars(
            select(IngestBatch.pk)
            .where(IngestBatch.state == STAGED, stale)
            .order_by(IngestBatch.pk)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ]
    if pks:
        session.execute(update(IngestBatch).where(IngestBatch.pk.in_(pks)).values(enqueued_at=now()))
    return pks


def state_of(session: Session, pk: int) -> str | None:
    return session.scalar(select(IngestBatch.state).where(IngestBatch.pk == pk))


@dataclass(frozen=True)
class Entry:
    batch_id: str
    state: str
    n_points: int


def entry(session: Session, pk: int) -> Entry | None:
    """What the ledger knows of a batch (None: gone with its deleted run)."""
    row = session.execute(
        select(IngestBatch.batch_id, IngestBatch.state, IngestBatch.n_points).where(IngestBatch.pk == pk)
    ).one_or_none()
    return Entry(str(row.batch_id), str(row.state), int(row.n_points)) if row is not None else None


def prune_applied(
    session: Session, applied_before: datetime, after: int = 0, limit: int = 2000
) -> tuple[int, int | None]:
    """Delete applied ledger rows older than ``applied_before``, walking the ledger from its
    oldest row (ids grow with arrival) so no scan reaches the recent part: one page of
    ``limit`` rows from id ``after``. Staged and failed rows stay. Returns (deleted, where the
    next page starts; None when the walk reached batches received after the cut-off or the end).
    """
    rows = session.execute(
        select(IngestBatch.pk, IngestBatch.state, IngestBatch.received_at, IngestBatch.applied_at)
        .where(IngestBatch.pk > after)
        .order_by(IngestBatch.pk)
        .limit(limit)
    ).all()
    gone: list[int] = []
    recent = False
    for row in rows:
        if _aware(row.received_at) >= applied_before:
            recent = True
            break
        if row.state == APPLIED and row.applied_at is not None and _aware(row.applied_at) < applied_before:
            gone.append(int(row.pk))
    if gone:
        session.execute(delete(IngestBatch).where(IngestBatch.pk.in_(gone)))
    more = not recent and len(rows) == limit
    return len(gone), int(rows[-1].pk) if more else None


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)  # SQLite hands back naive UTC

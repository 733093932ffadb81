"""Run repository: create/resume, list, progress, status transitions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.orm import Session

from gradsight_server.store.models import Diagnosis, Run, Segment
from gradsight_server.store.upsert import insert_ignore

RUNNING, FINISHED, CRASHED = "running", "finished", "crashed"
STATUSES = (RUNNING, FINISHED, CRASHED)


def now() -> datetime:
    return datetime.now(UTC)


def get(session: Session, run_id: str) -> Run | None:
    return session.scalars(select(Run).where(Run.id == run_id)).one_or_none()


def project_of(session: Session, run_id: str) -> str | None:
    return session.scalar(select(Run.project).where(Run.id == run_id))


def get_by_pk(session: Session, pk: int) -> Run | None:
    return session.get(Run, pk)


def create_or_resume(
    session: Session,
    run_id: str,
    project: str,
    name: str,
    config: dict[str, Any],
    metadata: dict[str, Any],
) -> tuple[Run, bool]:
    """Insert the run, or resume the existing one with this client id. Returns (run, created).

    Two agents racing to create the same id (all ranks of a job) both succeed: the insert
    ignores the conflict and both read the one row.
    """
    t = now()
    created = insert_ignore(
        session,
        Run,
        [
            {
                "id": run_id,
                "project": project,
                "name": name,
                "status": RUNNING,
                "config": config,
                "meta": metadata,
                "created_at": t,
                "updated_at": t,
            }
        ],
        ["id"],
    )
    run = get(session, run_id)
    assert run is not None
    if not created:
        run.status = RUNNING
        run.finished_at = None
        run.updated_at = t
        if config:
            run.config = {**run.config, **config}
        if metadata:
            run.meta = {**run.meta, **metadata}
    return run, bool(created)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(
    query: Select[Any],
    project: str | None,
    q: str | None,
    status: str | None,
    projects: frozenset[str] | None = None,
) -> Select[Any]:
    if projects is not None:
        query = query.where(Run.project.in_(sorted(projects)))
    if project:
        query = query.where(Run.project == project)
    if status:
        query = query.where(Run.status == status)
    if q:
        pattern = "%" + _escape_like(q) + "%"
        query = query.where(
            or_(
                Run.name.ilike(pattern, escape="\\"),
                Run.id.ilike(pattern, escape="\\"),
                Run.project.ilike(pattern, escape="\\"),
            )
        )
    return query


def list_runs(
    session: Session,
    *,
    project: str | None,
    q: str | None,
    status: str | None,
    limit: int,
    offset: int,
    projects: frozenset[str] | None = None,
) -> tuple[Sequence[Run], int]:
    total = session.scalar(_filtered(select(func.count(Run.pk)), project, q, status, projects)) or 0
    rows = session.scalars(
        _filtered(select(Run), project, q, status, projects)
        .order_by(Run.created_at.desc(), Run.pk.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, int(total)


def health_counts(session: Session, run_pks: Sequence[int]) -> dict[int, dict[str, int]]:
    """Open diagnoses per run and severity, for the run list's health column."""
    counts: dict[int, dict[str, int]] = {pk: {"critical": 0, "warning": 0, "info": 0} for pk in run_pks}
    if not run_pks:
        return counts
    rows = session.execute(
        select(Diagnosis.run_pk, Diagnosis.severity, func.count())
        .where(Diagnosis.run_pk.in_(run_pks), Diagnosis.status == "open")
        .group_by(Diagnosis.run_pk, Diagnosis.severity)
    ).all()
    for run_pk, severity, n in rows:
        if severity in counts[run_pk]:
            counts[run_pk][severity] = int(n)
    return counts


def record_progress(
    session: Session,
    run_pk: int,
    *,
    max_step: int | None,
    final: bool,
    layers: Sequence[str] | None,
) -> Run | None:
    """After a batch: advance last_step, mark the run alive (a crashed run that sends again is
    running again) or finished. A late batch never reopens a finished run."""
    # FOR NO KEY UPDATE, not FOR UPDATE: this transaction already holds a FOR KEY SHARE lock
    # on the run row (taken by its inserts into tables whose foreign keys point at it), and
    # two applies of the same run (the ranks of one job) upgrading that to FOR UPDATE
    # deadlock each other. NO KEY UPDATE does not conflict with KEY SHARE; it still orders
    # concurrent progress updates of the run.
    run = session.get(Run, run_pk, with_for_update={"key_share": True})
    if run is None:
        return None
    t = now()
    run.updated_at = t
    if max_step is not None and (run.last_step is None or max_step > run.last_step):
        run.last_step = max_step
    if layers is not None:
        run.layers = list(layers)
    if final:
        run.status = FINISHED
        run.finished_at = t
    elif run.status == CRASHED:
        run.status = RUNNING
    return run


def heartbeat(session: Session, run_pk: int) -> None:
    session.execute(update(Run).where(Run.pk == run_pk).values(updated_at=now()))
    session.execute(update(Run).where(Run.pk == run_pk, Run.status == CRASHED).values(status=RUNNING))


def finish(session: Session, run: Run) -> None:
    if run.status != FINISHED:
        run.status = FINISHED
        run.finished_at = now()
    run.updated_at = now()


def mark_stale_crashed(session: Session, cutoff: datetime) -> list[int]:
    """Running runs silent since ``cutoff`` become crashed. Returns their pks."""
    result = session.execute(
        update(Run)
        .where(Run.status == RUNNING, Run.updated_at < cutoff)
        .values(status=CRASHED)
        .returning(Run.pk)
        .execution_options(synchronize_session=False)
    )
    return [int(pk) for pk in result.scalars().all()]


def created_before(session: Session, cutoff: datetime) -> list[int]:
    return [int(pk) for pk in session.scalars(select(Run.pk).where(Run.created_at < cutoff).order_by(Run.pk))]


def delete_run(session: Session, run_pk: int) -> None:
    # Foreign keys cascade to keys, latest values, ledger and diagnoses. Segments have none
    # (migration 0002), so they go explicitly, and after the run: deleting the run waits for
    # a batch being applied (it holds the ledger row), and this statement then sees and
    # deletes what that batch wrote.
    session.execute(delete(Run).where(Run.pk == run_pk))
    session.execute(delete(Segment).where(Segment.run_pk == run_pk))

"""Run service: what the API's run routes do, without HTTP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gradsight_server.errors import RunConflict, RunNotFound
from gradsight_server.store import diagnoses, runs, series
from gradsight_server.store.engine import Database
from gradsight_server.store.models import Diagnosis, Run


def _iso(t: datetime | None) -> str | None:
    if t is None:
        return None
    if t.tzinfo is None:  # SQLite hands back naive datetimes; we only ever store UTC
        t = t.replace(tzinfo=UTC)
    return t.isoformat()


def run_view(run: Run, health: dict[str, int]) -> dict[str, Any]:
    """The contract's run object."""
    return {
        "id": run.id,
        "project": run.project,
        "name": run.name,
        "status": run.status,
        "config": run.config,
        "metadata": run.meta,
        "created_at": _iso(run.created_at),
        "updated_at": _iso(run.updated_at),
        "finished_at": _iso(run.finished_at),
        "last_step": run.last_step,
        "health": health,
    }


def diagnosis_view(d: Diagnosis) -> dict[str, Any]:
    return {
        "id": str(d.pk),
        "rule": d.rule,
        "severity": d.severity,
        "status": d.status,
        "first_step": d.first_step,
        "last_step": d.last_step,
        "summary": d.summary,
        "evidence": d.evidence,
        "recommendations": d.recommendations,
    }


@dataclass(frozen=True)
class Created:
    run: dict[str, Any]
    created: bool


def create_or_resume(
    db: Database,
    run_id: str,
    project: str,
    name: str | None,
    config: dict[str, Any],
    metadata: dict[str, Any],
    may_see: Callable[[str], bool] = lambda _: True,
) -> Created:
    """``may_see(project)``: whether the caller may learn the name of the project that already
    holds this run id (a conflict with a project the caller cannot see names none)."""
    with db.write_session() as session:
        existing = runs.get(session, run_id)
        if existing is not None and existing.project != project:
            where = f"project {existing.project!r}" if may_see(existing.project) else "another project"
            raise RunConflict(f"run {run_id!r} already exists in {where}, not {project!r}")
        run, created = runs.create_or_resume(session, run_id, project, name or run_id, config, metadata)
        session.flush()
        view = run_view(run, runs.health_counts(session, [run.pk])[run.pk])
    return Created(view, created)


def get(db: Database, run_id: str) -> dict[str, Any]:
    with db.session() as session:
        run = runs.get(session, run_id)
        if run is None:
            raise RunNotFound(run_id)
        return run_view(run, runs.health_counts(session, [run.pk])[run.pk])


def project_of(db: Database, run_id: str) -> str | None:
    """The run's project name (None: no such run); what authorization needs of a run."""
    with db.session() as session:
        return runs.project_of(session, run_id)


def list_runs(
    db: Database,
    *,
    project: str | None,
    q: str | None,
    status: str | None,
    limit: int,
    offset: int,
    projects: frozenset[str] | None = None,
) -> dict[str, Any]:
    """``projects``: only runs in these projects (None: every project)."""
    with db.session() as session:
        rows, total = runs.list_runs(
            session, project=project, q=q, status=status, limit=limit, offset=offset, projects=projects
        )
        health = runs.health_counts(session, [r.pk for r in rows])
        return {"items": [run_view(r, health[r.pk]) for r in rows], "total": total}


def finish(db: Database, run_id: str) -> dict[str, Any]:
    with db.write_session() as session:
        run = runs.get(session, run_id)
        if run is None:
            raise RunNotFound(run_id)
        runs.finish(session, run)
        session.flush()
        return run_view(run, runs.health_counts(session, [run.pk])[run.pk])


def delete(db: Database, run_id: str) -> None:
    with db.write_session() as session:
        run = runs.get(session, run_id)
        if run is None:
            raise RunNotFound(run_id)
        runs.delete_run(session, run.pk)


def keys(db: Database, run_id: str) -> list[str]:
    with db.session() as session:
        run = runs.get(session, run_id)
        if run is None:
            raise RunNotFound(run_id)
        return series.key_names(session, run.pk)


def run_diagnoses(db: Database, run_id: str) -> list[dict[str, Any]]:
    with db.session() as session:
        run = runs.get(session, run_id)
        if run is None:
            raise RunNotFound(run_id)
        return [diagnosis_view(d) for d in diagnoses.for_run(session, run.pk)]

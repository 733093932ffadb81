"""Dialect-specific ``INSERT … ON CONFLICT`` for the two supported databases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session


def _insert(session: Session, model: type[DeclarativeBase]) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise RuntimeError(f"unsupported database dialect {dialect!r}")


def insert_ignore(
    session: Session,
    model: type[DeclarativeBase],
    rows: Sequence[Mapping[str, Any]],
    conflict: Sequence[str],
) -> int:
    """Insert rows, skipping those that collide on ``conflict``. Returns how many were inserted.

    Counted with RETURNING: a DBAPI's executemany ``rowcount`` is unreliable (0 on both
    pysqlite and psycopg here), and RETURNING yields exactly the rows that went in.
    """
    if not rows:
        return 0
    table = model.__table__
    stmt = (
        _insert(session, model)
        .on_conflict_do_nothing(index_elements=list(conflict))
        .returning(*(table.c[name] for name in conflict))
    )
    return len(session.execute(stmt, list(rows)).all())


def insert_ignore_returning(
    session: Session,
    model: type[DeclarativeBase],
    rows: Sequence[Mapping[str, Any]],
    conflict: Sequence[str],
    column: str,
) -> list[Any]:
    """Like :func:`insert_ignore`, returning ``column`` (e.g. the new primary keys) of the rows
    that went in."""
    if not rows:
        return []
    stmt = (
        _insert(session, model)
        .on_conflict_do_nothing(index_elements=list(conflict))
        .returning(model.__table__.c[column])
    )
    return [row[0] for row in session.execute(stmt, list(rows)).all()]


def upsert(
    session: Session,
    model: type[DeclarativeBase],
    rows: Sequence[Mapping[str, Any]],
    conflict: Sequence[str],
    update: Sequence[str],
    where: Any = None,
) -> None:
    """Insert rows; on conflict overwrite ``update`` columns (only where ``where`` holds).

    ``where`` receives the statement so it can refer to ``stmt.excluded``.
    """
    if not rows:
        return
    stmt = _insert(session, model)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(conflict),
        set_={name: stmt.excluded[name] for name in update},
        where=where(stmt) if where is not None else None,
    )
    session.execute(stmt, list(rows))

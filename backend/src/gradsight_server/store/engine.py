"""Engine and session factory for SQLite (embedded) and PostgreSQL (self-hosted)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def normalize_url(url: str) -> str:
    """Accept the ``postgresql://`` form people paste and use the psycopg 3 driver for it."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the dashboard read while the ingest thread writes. synchronous=NORMAL in WAL
    # mode survives a process crash (what "durable before 202" guards against in embedded
    # mode) but may lose the last commits on power loss; docs/adr/0001-storage.md.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_no_autobegin(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # the "begin" event below issues BEGIN itself


def _sqlite_begin(conn: Any) -> None:
    # A deferred transaction that reads and then writes can fail with SQLITE_BUSY instead of
    # waiting; writers therefore BEGIN IMMEDIATE (take the write lock up front and queue on
    # busy_timeout) while readers stay deferred so they never block ingest.
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "connect", _sqlite_no_autobegin)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # hide_parameters: errors and logs never show bound values (password hashes, key hashes,
    # batch payloads).
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


class Database:
    """One engine and its session factory; the request or task boundary commits."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url)
        # A read takes several statements (a key's chunks, then its fresh segments): on
        # PostgreSQL they share one snapshot, or a compaction committing in between could hide
        # points from both. SQLite's read transaction already has one snapshot (WAL).
        reader = (
            self.engine
            if is_sqlite(self.engine)
            else self.engine.execution_options(isolation_level="REPEATABLE READ")
        )
        self.sessions = sessionmaker(reader, expire_on_commit=False)
        writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self.write_sessions = sessionmaker(writer, expire_on_commit=False)

    @property
    def backend(self) -> str:
        return "sqlite" if is_sqlite(self.engine) else "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read session: one snapshot for all its statements (REPEATABLE READ on PostgreSQL, a
        deferred transaction on SQLite). Keep it short: it holds back vacuum while open."""
        with self.sessions() as session:
            yield session

    @contextmanager
    def write_session(self, *, wait_for_disk: bool = True) -> Iterator[Session]:
        """A session that commits on success and rolls back on any exception.

        ``wait_for_disk=False`` (PostgreSQL): the commit returns before its WAL is flushed
        (``synchronous_commit = off``), saving an fsync wait; a crash may lose the last
        ~0.6 s of such commits, whole. Only for work that is safe to lose that way.
        """
        with self.write_sessions() as session:
            try:
                if not wait_for_disk and not is_sqlite(self.engine):
                    session.execute(text("SET LOCAL synchronous_commit = off"))
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()

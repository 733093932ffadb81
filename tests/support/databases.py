"""PostgreSQL for tests: the machine's server (127.0.0.1:5432, user postgres) unless
GRADSIGHT_TEST_POSTGRES_URL names another. It is required, never skipped: `make test`
starts it (scripts/ensure-services.sh) and a test that cannot reach it fails loudly."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import make_url

ADMIN_URL = os.environ.get("GRADSIGHT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def admin_connect() -> psycopg.Connection:
    url = make_url(ADMIN_URL)
    try:
        return psycopg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            dbname=url.database or "postgres",
            autocommit=True,
            connect_timeout=5,
        )
    except psycopg.OperationalError as exc:
        raise RuntimeError(
            f"PostgreSQL is required for these tests and is not reachable at {ADMIN_URL}: {exc}. "
            "Run `make test` (it starts the machine's PostgreSQL) or set GRADSIGHT_TEST_POSTGRES_URL."
        ) from exc


@contextmanager
def fresh_database(prefix: str = "gradsight_test") -> Iterator[str]:
    """A new empty database for one test module; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin_connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(database=name, drivername="postgresql+psycopg")
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def set_database_reachable(name: str, reachable: bool) -> None:
    """Refuse (or allow again) new connections to one database and end its open ones: the
    database is down for the server under test while the shared PostgreSQL keeps running."""
    with admin_connect() as conn:
        conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {str(reachable).lower()}')
        if not reachable:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))

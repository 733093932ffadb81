"""Alembic environment: the URL comes from ``gradsight_server.store.migrate`` (never a .ini)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from gradsight_server.store.engine import make_engine
from gradsight_server.store.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER goes through copies
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "gradsight_server.store.migrate sets sqlalchemy.url"
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


run_migrations_online()

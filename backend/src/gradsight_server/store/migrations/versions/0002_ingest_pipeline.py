"""ingest pipeline: enqueue bookkeeping for staged batches, diagnosis requests

- ``ingest_batches.enqueued_at``: when the batch's queue message was last sent (NULL: sending
  failed, the broker was down). The maintenance sweep re-sends only messages that are NULL
  or older than its grace period, and stamps them, so a backlog is re-sent at most once per
  grace period instead of on every sweep.
- The index on staged batches becomes partial: the ledger keeps every applied batch id
  forever (exactly-once), and only the few staged rows need an index.
- ``ingest_batches.payload`` is stored without compression: float64 telemetry does not
  compress, and PostgreSQL would try (pglz) on every staged body.
- ``diagnosis_state``: per run, how many times diagnosis ran and up to which step (the hook
  that issue 6's rules engine plugs into).
- ``segments`` loses its foreign keys. Checking them is a trigger per row, and measured on
  a binary COPY of 1,810 rows (one batch of ~200 parameters × 5 families) they were two
  thirds of its cost (30 ms → 9.4 ms per batch). The write path creates a batch's keys in
  the same transaction as its segments, and deleting a run deletes its segments explicitly
  (store/runs.py), so the constraints guarded nothing the code does not already ensure.
- ``latest_values`` keeps half of each page free (fillfactor 50), so the per-batch update
  of every key's latest value stays a heap-only (HOT) update that rewrites no index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STAGED = sa.text("state = 'staged'")


SEGMENT_FKS = (
    ("segments_run_pk_fkey", "runs", "run_pk", "pk"),
    ("segments_key_id_fkey", "metric_keys", "key_id", "id"),
)
# SQLite's foreign keys are unnamed; batch mode names them by this convention to drop them.
SQLITE_NAMES = {"fk": "%(table_name)s_%(column_0_name)s_fkey"}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, *_ in SEGMENT_FKS:
            op.drop_constraint(name, "segments", type_="foreignkey")
        op.execute("ALTER TABLE latest_values SET (fillfactor = 50)")
    else:
        with op.batch_alter_table("segments", naming_convention=SQLITE_NAMES) as batch_op:
            for name, *_ in SEGMENT_FKS:
                batch_op.drop_constraint(name, type_="foreignkey")

    with op.batch_alter_table("ingest_batches") as batch_op:
        batch_op.add_column(sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_index("ix_ingest_batches_state")
    op.execute("UPDATE ingest_batches SET enqueued_at = received_at WHERE state = 'staged'")
    op.create_index(
        "ix_ingest_batches_staged",
        "ingest_batches",
        ["enqueued_at"],
        postgresql_where=STAGED,
        sqlite_where=STAGED,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE ingest_batches ALTER COLUMN payload SET STORAGE EXTERNAL")

    op.create_table(
        "diagnosis_state",
        sa.Column("run_pk", BigId, nullable=False),
        sa.Column("passes", sa.BigInteger(), nullable=False),
        sa.Column("last_pass_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["run_pk"], ["runs.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_pk"),
    )


def downgrade() -> None:
    op.drop_table("diagnosis_state")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE ingest_batches ALTER COLUMN payload SET STORAGE EXTENDED")
    op.drop_index("ix_ingest_batches_staged", table_name="ingest_batches")
    with op.batch_alter_table("ingest_batches") as batch_op:
        batch_op.create_index("ix_ingest_batches_state", ["state", "received_at"], unique=False)
        batch_op.drop_column("enqueued_at")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE latest_values RESET (fillfactor)")
    with op.batch_alter_table("segments") as batch_op:
        for name, table, column, remote in SEGMENT_FKS:
            batch_op.create_foreign_key(name, table, [column], [remote], ondelete="CASCADE")

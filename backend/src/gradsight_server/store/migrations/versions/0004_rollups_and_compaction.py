"""roll-ups and compaction

- ``segments.chunk``: compaction merges a key's per-batch segments into chunks aligned to
  4096-step tiles (``chunk = true``). Rows written before this revision are fresh batch
  segments, so the first compaction after the upgrade compacts them: no data migration.
- The one index on ``segments`` becomes two partial ones, ``ix_segments_chunks`` (run, key,
  first step; what range reads use) and ``ix_segments_fresh`` (run, key; what compaction and
  the dirty-range lookup of queries use). Each row is in exactly one of them, so ingest's
  COPY still maintains one index entry per row.
- ``rollups``: per key and level, blocks of 256 buckets of min/max/sum/last/count/non-finite
  count, as little-endian arrays (docs/adr/0003-rollups-and-compaction.md).
- ``metric_keys`` gains what compaction knows of a key: its roll-up levels, the step range it
  compacted, and below which step retention dropped the raw points.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CHUNK = sa.text("chunk")
FRESH = sa.text("NOT chunk")
KEY_COLUMNS = (
    ("fine_level", sa.SmallInteger()),
    ("top_level", sa.SmallInteger()),
    ("first_step", sa.BigInteger()),
    ("last_step", sa.BigInteger()),
    ("raw_from", sa.BigInteger()),
)
STATISTICS = ("first", "min", "max", "sum", "last", "count", "nonfinite")


def upgrade() -> None:
    with op.batch_alter_table("segments") as batch_op:
        batch_op.add_column(sa.Column("chunk", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.drop_index("ix_segments_run_key_first")
    op.create_index(
        "ix_segments_chunks",
        "segments",
        ["run_pk", "key_id", "first_step"],
        postgresql_where=CHUNK,
        sqlite_where=CHUNK,
    )
    op.create_index(
        "ix_segments_fresh", "segments", ["run_pk", "key_id"], postgresql_where=FRESH, sqlite_where=FRESH
    )
    with op.batch_alter_table("metric_keys") as batch_op:
        for name, type_ in KEY_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    op.create_table(
        "rollups",
        sa.Column("key_id", BigId, nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("block", sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.LargeBinary(), nullable=False) for name in STATISTICS),
        sa.ForeignKeyConstraint(["key_id"], ["metric_keys.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key_id", "level", "block"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Float arrays do not compress: skip pglz's attempt on every write (ADR 0003).
        for name in ("values", "steps"):
            op.execute(f'ALTER TABLE segments ALTER COLUMN "{name}" SET STORAGE EXTERNAL')
        for name in STATISTICS:
            op.execute(f'ALTER TABLE rollups ALTER COLUMN "{name}" SET STORAGE EXTERNAL')


def downgrade() -> None:
    op.drop_table("rollups")
    with op.batch_alter_table("metric_keys") as batch_op:
        for name, _ in reversed(KEY_COLUMNS):
            batch_op.drop_column(name)
    op.drop_index("ix_segments_fresh", table_name="segments")
    op.drop_index("ix_segments_chunks", table_name="segments")
    if op.get_bind().dialect.name == "postgresql":
        for name in ("values", "steps"):
            op.execute(f'ALTER TABLE segments ALTER COLUMN "{name}" SET STORAGE EXTENDED')
    with op.batch_alter_table("segments") as batch_op:
        batch_op.drop_column("chunk")
        batch_op.create_index("ix_segments_run_key_first", ["run_pk", "key_id", "first_step"], unique=False)

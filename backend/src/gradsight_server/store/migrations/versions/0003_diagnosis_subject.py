"""diagnoses: subject

A rule can report several things about one run (a layer, the loss, the optimizer). The
engine matches a new finding to a stored diagnosis by (rule, subject), so an open diagnosis
is updated or resolved instead of duplicated on every pass.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("diagnoses") as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=128), nullable=False, server_default=""))
        batch_op.create_index("ix_diagnoses_run_rule_subject", ["run_pk", "rule", "subject"])


def downgrade() -> None:
    with op.batch_alter_table("diagnoses") as batch_op:
        batch_op.drop_index("ix_diagnoses_run_rule_subject")
        batch_op.drop_column("subject")

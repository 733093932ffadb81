"""accounts, API keys and alert webhooks

- ``users``, ``sessions`` (dashboard logins; only the token's SHA-256 is stored),
  ``projects`` and ``project_members`` (viewer | editor | admin). A project owns the runs
  whose ``runs.project`` is its name: runs keep their name column, so a server that ran in
  local mode keeps every run, and an administrator who creates a project of the same name
  takes them in.
- ``api_keys``: scoped to one project and to ``ingest`` or ``read``; only the SHA-256 of the
  key is stored; revoking sets ``revoked_at`` (the row stays, for the audit trail).
- ``webhooks`` and ``alert_deliveries``: the alert outbox, one row per (diagnosis,
  destination), written in the same transaction that opens the diagnosis.

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
PENDING = sa.text("state = 'pending'")


def _time(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("pk", BigId, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        _time("created_at"),
    )
    op.create_table(
        "sessions",
        sa.Column("pk", BigId, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_pk", BigId, sa.ForeignKey("users.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        _time("created_at"),
        _time("expires_at"),
    )
    op.create_index("ix_sessions_user_pk", "sessions", ["user_pk"])
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"])
    op.create_table(
        "projects",
        sa.Column("pk", BigId, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        _time("created_at"),
    )
    op.create_table(
        "project_members",
        sa.Column("project_pk", BigId, sa.ForeignKey("projects.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("user_pk", BigId, sa.ForeignKey("users.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("project_pk", "user_pk"),
    )
    op.create_index("ix_project_members_user_pk", "project_members", ["user_pk"])
    op.create_table(
        "api_keys",
        sa.Column("pk", BigId, primary_key=True, autoincrement=True),
        sa.Column("project_pk", BigId, sa.ForeignKey("projects.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("rate_limit_per_min", sa.Integer(), nullable=True),
        sa.Column("created_by", BigId, sa.ForeignKey("users.pk", ondelete="SET NULL"), nullable=True),
        _time("created_at"),
        _time("last_used_at", nullable=True),
        _time("revoked_at", nullable=True),
    )
    op.create_index("ix_api_keys_project_pk", "api_keys", ["project_pk"])
    op.create_table(
        "webhooks",
        sa.Column("pk", BigId, primary_key=True, autoincrement=True),
        sa.Column("project_pk", BigId, sa.ForeignKey("projects.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("min_severity", sa.String(16), nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        _time("created_at"),
    )
    op.create_index("ix_webhooks_project_pk", "webhooks", ["project_pk"])
    op.create_table(
        "alert_deliveries",
        sa.Column("pk", BigId, primary_key=True, autoincrement=True),
        sa.Column("webhook_pk", BigId, sa.ForeignKey("webhooks.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("diagnosis_pk", BigId, sa.ForeignKey("diagnoses.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("next_attempt_at"),
        _time("claimed_until", nullable=True),
        sa.Column("payload", Json, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _time("created_at"),
        _time("delivered_at", nullable=True),
        sa.UniqueConstraint("diagnosis_pk", "webhook_pk", name="uq_alert_deliveries_diagnosis_webhook"),
    )
    op.create_index(
        "ix_alert_deliveries_pending",
        "alert_deliveries",
        ["next_attempt_at"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.create_index("ix_alert_deliveries_webhook", "alert_deliveries", ["webhook_pk", "created_at"])


def downgrade() -> None:
    for table in ("alert_deliveries", "webhooks", "api_keys", "project_members", "projects", "sessions"):
        op.drop_table(table)
    op.drop_table("users")

"""SQLAlchemy models. The schema itself is owned by the Alembic migrations next to this file.

Points are not stored one row per point: each batch becomes one ``segments`` row per key
holding that key's steps and values as little-endian arrays (see docs/adr/0001-storage.md).
That keeps numbers in numpy from the wire to the database and costs ~10 bytes per point
instead of ~85 for a row per point. Compaction later merges a key's batch segments into
tile-aligned chunks and keeps per-bucket roll-ups (``rollups``) at several resolutions
(docs/adr/0003-rollups-and-compaction.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments an ``INTEGER PRIMARY KEY``; PostgreSQL gets a real bigint.
BigId = BigInteger().with_variant(Integer(), "sqlite")
# JSONB on PostgreSQL so config and metadata can be searched and indexed.
Json = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    pass


class Run(Base):
    __tablename__ = "runs"

    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    project: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), index=True)
    config: Mapped[dict[str, Any]] = mapped_column(Json)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", Json)
    layers: Mapped[list[str] | None] = mapped_column(Json, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class MetricKey(Base):
    """A metric of a run, and what compaction knows about its stored points."""

    __tablename__ = "metric_keys"
    __table_args__ = (UniqueConstraint("run_pk", "name", name="uq_metric_keys_run_name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.pk", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(256))
    fine_level: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    """log2 of the finest roll-up bucket width; NULL: no roll-ups yet (a small key is read raw)."""
    top_level: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    """log2 of the coarsest roll-up width kept: every level from fine to top in steps of 2."""
    first_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """Lowest and highest step ever compacted (kept when retention drops the raw points)."""
    last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    raw_from: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """Retention dropped the raw points below this step; roll-ups still cover them."""


class Segment(Base):
    """A run of points of one key: ``steps`` (int64 LE, or ``first_step + i * stride`` when
    ``steps`` is NULL) and ``values`` (float64 or float32 LE, ``dtype`` says which).

    ``seq`` is the ingest order of the batch that wrote it: when two segments hold the same
    step, the higher ``seq`` wins ("re-logging a step replaces it").
    """

    __tablename__ = "segments"
    __table_args__ = (
        # Each row is in exactly one index, so a batch's COPY still updates one index per row.
        Index(
            "ix_segments_chunks",
            "run_pk",
            "key_id",
            "first_step",
            postgresql_where=text("chunk"),
            sqlite_where=text("chunk"),
        ),
        Index(
            "ix_segments_fresh",
            "run_pk",
            "key_id",
            postgresql_where=text("NOT chunk"),
            sqlite_where=text("NOT chunk"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # No foreign keys: checking them was two thirds of the bulk write (migration 0002).
    # Keys are created with their segments; deleting a run deletes its segments (store/runs.py).
    run_pk: Mapped[int] = mapped_column(BigId)
    key_id: Mapped[int] = mapped_column(BigId)
    seq: Mapped[int] = mapped_column(BigInteger)
    first_step: Mapped[int] = mapped_column(BigInteger)
    last_step: Mapped[int] = mapped_column(BigInteger)
    n: Mapped[int] = mapped_column(Integer)
    stride: Mapped[int] = mapped_column(BigInteger)
    steps: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    dtype: Mapped[str] = mapped_column(String(2))
    values: Mapped[bytes] = mapped_column(LargeBinary)
    counts: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    """uint32 LE: how many times the key was logged within each step (NULL: once each)."""
    chunk: Mapped[bool] = mapped_column(Boolean, server_default=false())
    """False: a batch's segment, as ingest wrote it ("fresh"). True: a compacted chunk. A key's
    chunks never share a 4096-step tile, so they never hold the same step; fresh segments may
    repeat any step, and the highest ``seq`` wins."""


class Rollup(Base):
    """Per-bucket aggregates of one key at one level (bucket width ``2**level`` steps, aligned to
    multiples of the width), for ``BLOCK`` consecutive buckets: one little-endian array per
    statistic, one entry per non-empty bucket, sorted by step. Built by compaction from the
    merged points, so a re-logged step never leaves a stale extreme behind."""

    __tablename__ = "rollups"

    key_id: Mapped[int] = mapped_column(
        ForeignKey("metric_keys.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    block: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    """``first_step // (2**level * BLOCK)``."""
    first: Mapped[bytes] = mapped_column(LargeBinary)
    """int64: the first step present in each bucket."""
    min: Mapped[bytes] = mapped_column(LargeBinary)
    """float64 over finite values, +Infinity when the bucket has none."""
    max: Mapped[bytes] = mapped_column(LargeBinary)
    """float64 over finite values, -Infinity when the bucket has none."""
    sum: Mapped[bytes] = mapped_column(LargeBinary)
    """float64 over finite values."""
    last: Mapped[bytes] = mapped_column(LargeBinary)
    """float64: the value at the bucket's last step, as logged (NaN and ±Infinity included)."""
    count: Mapped[bytes] = mapped_column(LargeBinary)
    """int64: points (steps) in the bucket."""
    nonfinite: Mapped[bytes] = mapped_column(LargeBinary)
    """int64: NaN and ±Infinity among them."""


class LatestValue(Base):
    """Last value of every key, so run lists never scan history (MLflow's ``latest_metrics``)."""

    __tablename__ = "latest_values"
    __table_args__ = {"postgresql_with": {"fillfactor": 50}}  # noqa: RUF012 (SQLAlchemy's declarative form)

    key_id: Mapped[int] = mapped_column(ForeignKey("metric_keys.id", ondelete="CASCADE"), primary_key=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.pk", ondelete="CASCADE"), index=True)
    step: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[float | None] = mapped_column(Float(53), nullable=True)
    special: Mapped[int] = mapped_column(SmallInteger)
    """0 finite (``value`` holds it), 1 NaN, 2 +Infinity, 3 -Infinity: SQLite turns NaN into NULL."""


class IngestBatch(Base):
    """Ledger of received batches. A batch is staged here (payload kept) before the API
    answers 202; applying it flips ``state`` to ``applied`` in the same transaction that
    writes its points, so a redelivered task finds it applied and does nothing."""

    __tablename__ = "ingest_batches"
    __table_args__ = (
        UniqueConstraint("run_pk", "batch_id", name="uq_ingest_batches_run_batch"),
        Index(
            "ix_ingest_batches_staged",
            "enqueued_at",
            postgresql_where=text("state = 'staged'"),
            sqlite_where=text("state = 'staged'"),
        ),
    )

    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.pk", ondelete="CASCADE"))
    batch_id: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(12))
    content_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    n_points: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    """When its queue message was last sent; NULL when sending failed (the broker was down)."""
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class Diagnosis(Base):
    __tablename__ = "diagnoses"
    __table_args__ = (
        Index("ix_diagnoses_run_status", "run_pk", "status"),
        Index("ix_diagnoses_run_rule_subject", "run_pk", "rule", "subject"),
    )

    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.pk", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128), server_default="")
    """What the rule is about (a layer, the loss …): (rule, subject) identifies an open diagnosis."""
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    first_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    summary: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(Json)
    recommendations: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DiagnosisState(Base):
    """Per run: how often diagnosis ran and up to which step. Diagnosis is requested after
    ingest, debounced per run (ingest/debounce.py); the rules engine (issue 6) runs here."""

    __tablename__ = "diagnosis_state"

    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True)
    passes: Mapped[int] = mapped_column(BigInteger)
    last_pass_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


# --- accounts (migration 0005; docs/security.md) ------------------------------------------


class User(Base):
    __tablename__ = "users"

    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    """Lower-cased; sign-in is case-insensitive."""
    password_hash: Mapped[str] = mapped_column(String(256))
    """``scrypt$n$r$p$salt$hash`` (auth/passwords.py)."""
    is_admin: Mapped[bool] = mapped_column(Boolean)
    """Server administrator: every project, users and projects."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LoginSession(Base):
    """A dashboard login. Only the SHA-256 of the cookie's token is stored."""

    __tablename__ = "sessions"

    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Project(Base):
    """A project's runs are the runs whose ``project`` is its name."""

    __tablename__ = "projects"

    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProjectMember(Base):
    __tablename__ = "project_members"
    __table_args__ = (PrimaryKeyConstraint("project_pk", "user_pk"),)

    project_pk: Mapped[int] = mapped_column(ForeignKey("projects.pk", ondelete="CASCADE"))
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    """viewer | editor | admin"""


class ApiKey(Base):
    """An agent's or a script's key, scoped to one project and to ingest or read. Only the
    SHA-256 of the key is stored (keys are 256-bit random, so a fast hash is enough)."""

    __tablename__ = "api_keys"

    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_pk: Mapped[int] = mapped_column(ForeignKey("projects.pk", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    prefix: Mapped[str] = mapped_column(String(16))
    """The key's first characters, shown in lists so a user can tell keys apart."""
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(16))
    """ingest | read"""
    rate_limit_per_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.pk", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


# --- alerts (migration 0005) ----------------------------------------------------------------


class Webhook(Base):
    __tablename__ = "webhooks"

    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_pk: Mapped[int] = mapped_column(ForeignKey("projects.pk", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    """json | slack"""
    min_severity: Mapped[str] = mapped_column(String(16))
    secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    """Signs the body (``X-Gradsight-Signature: sha256=<hex HMAC>``) when set."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AlertDelivery(Base):
    """The alert outbox: one row per (diagnosis, destination), written in the transaction that
    opened the diagnosis, so an alert is neither lost nor sent twice by design (a worker dying
    mid-send may repeat one; ``X-Gradsight-Delivery`` lets receivers drop it)."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("diagnosis_pk", "webhook_pk", name="uq_alert_deliveries_diagnosis_webhook"),
        Index(
            "ix_alert_deliveries_pending",
            "next_attempt_at",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        Index("ix_alert_deliveries_webhook", "webhook_pk", "created_at"),
    )

    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    webhook_pk: Mapped[int] = mapped_column(ForeignKey("webhooks.pk", ondelete="CASCADE"))
    diagnosis_pk: Mapped[int] = mapped_column(ForeignKey("diagnoses.pk", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(12))
    """pending | delivered | failed"""
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    """When the maintenance sweep (re)sends its task, unless it is claimed."""
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    """A sender holds it until then; a sender that died lets it go when this passes."""
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    """What happened, as it was when the diagnosis opened (alerts/payloads.py)."""
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

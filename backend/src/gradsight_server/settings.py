"""Server settings, read from ``GRADSIGHT_*`` environment variables (and ``.env``).

Every variable is listed in the repository's ``.env.example``; a test checks the two agree.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.home() / ".gradsight"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRADSIGHT_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    """Where the embedded server keeps its SQLite database."""

    database_url: str | None = None
    """SQLAlchemy URL. Unset: SQLite in ``data_dir``. PostgreSQL: ``postgresql+psycopg://…``."""

    redis_url: str | None = None
    """Celery broker. Unset: ingest and diagnosis run on an in-process queue (embedded mode)."""

    host: str = "127.0.0.1"
    port: int = 8000

    static_dir: Path | None = None
    """Built dashboard. Unset: the package's ``static/`` or, in a source checkout, ``frontend/dist``."""

    auto_migrate: bool = True
    """Run ``alembic upgrade head`` when ``serve`` starts (the compose file runs a one-shot migrate instead)."""

    max_batch_bytes: int = 32 * 1024 * 1024
    """Largest accepted batch body, compressed or not (a decompressed body larger than this is rejected too)."""

    max_batch_points: int = 2_000_000

    stale_after_s: float = 600.0
    """A running run silent for this long becomes ``crashed`` (the agent heartbeats every 30 s)."""

    stall_after_s: float = Field(default=300.0, gt=0)
    """``stalled_run`` opens when a running run's steps have not advanced for this long (or for
    much longer than its own slowest step so far, whichever is longer)."""

    maintenance_interval_s: float = Field(default=15.0, gt=0)
    """How often each API process sweeps stale runs and re-enqueues staged batches."""

    requeue_after_s: float = Field(default=60.0, ge=0)
    """A batch staged this long ago and still not applied has its queue message sent again (the
    message was lost: Redis restarted without it, a process died). Sending failed messages
    again does not wait for this."""

    broker_visibility_timeout_s: int = Field(default=300, ge=1)
    """Redis broker: a task a worker took but never acknowledged (the worker was killed) is
    delivered again after this long; shorter also redelivers tasks a slow worker still holds."""

    diagnosis_debounce_s: float = Field(default=5.0, ge=0)
    """At most one diagnosis pass per run per this many seconds, however fast batches arrive."""

    compact_after_s: float = Field(default=300.0, ge=0)
    """The maintenance sweep compacts a key's segments once its steps have moved past their
    4096-step tile, or once they are this old (a key that stopped logging); queries read what
    is not compacted yet raw (docs/adr/0003-rollups-and-compaction.md)."""

    retention_days: float | None = Field(default=None, gt=0)
    """Drop raw points whose step's wall time is older than this many days; roll-ups stay, and
    queries over that past answer from them. Unset: raw points are kept forever."""

    ledger_keep_days: float = Field(default=30.0, gt=0)
    """Applied batch ids stay in the ingest ledger this long: a batch re-sent within the window
    (a spool file replayed after its 202 was lost) is recognised and skipped."""

    log_level: str = "INFO"

    # --- accounts and security (docs/security.md) ---------------------------------------
    auth: Literal["auto", "required"] = "auto"
    """``auto``: a server bound to loopback with no users is in single-user local mode (no
    login, no keys); any other bind, or once a user exists, requires authentication.
    ``required``: always (e.g. a loopback server behind a reverse proxy)."""

    session_ttl_s: int = Field(default=14 * 24 * 3600, ge=60)
    """A dashboard login lasts this long."""

    cookie_secure: bool | None = None
    """Mark session cookies ``Secure``. Unset: when the request came over HTTPS."""

    key_rate_limit_per_min: int = Field(default=1200, ge=1)
    """Requests per minute one API key may make (a key may override it); beyond: 429."""

    login_rate_limit_per_min: int = Field(default=10, ge=1)
    """Login attempts per minute per user name and per client address; beyond: 429."""

    max_request_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    """Largest body of any request but a batch (whose limit is ``max_batch_bytes``)."""

    public_url: str | None = None
    """The dashboard's address as users see it (links in alerts), e.g. https://gradsight.example.com."""

    webhook_timeout_s: float = Field(default=5.0, gt=0, le=60)
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    webhook_retry_base_s: float = Field(default=10.0, gt=0)
    """First retry of a failed alert after this long, then 3× longer each time (capped at 30 min)."""

    webhook_allow_private: bool = False
    """Allow alert destinations on loopback, private and link-local addresses (an on-premises
    chat server); off by default so a project admin cannot make the server probe its own network."""

    @field_validator(
        "database_url",
        "redis_url",
        "static_dir",
        "retention_days",
        "public_url",
        "cookie_secure",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("data_dir", "static_dir")
    @classmethod
    def _expand_home(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'gradsight.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

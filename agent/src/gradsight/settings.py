"""Agent settings from ``GRADSIGHT_*`` environment variables; ``gradsight.init`` arguments win."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Mode = Literal["online", "offline", "disabled"]


def _default_spool() -> Path:
    return Path.home() / ".gradsight" / "spool"


class AgentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRADSIGHT_", extra="ignore")

    url: str = "http://localhost:8000"
    """Server base URL (``gradsight.init(server=...)`` overrides)."""
    api_key: str | None = None
    project: str = "default"
    run_id: str | None = None
    """Fixes the run id (all ranks of a distributed job share it)."""
    mode: Mode = "online"
    spool_dir: Path = Field(default_factory=_default_spool)
    flush_interval_s: float = 1.0
    """Batches leave at least this often; a SIGKILL loses at most this much telemetry."""
    heartbeat_s: float = 30.0
    finish_timeout_s: float = 30.0
    """How long ``run.finish()`` waits for the server before leaving the rest in the spool."""
    max_buffer_steps: int = 100_000
    """Closed steps held in memory before the agent drops (and counts) the oldest."""

    @field_validator("api_key", "run_id", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("spool_dir")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

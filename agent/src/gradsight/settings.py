"""Agent settings from ``GRADSIGHT_*`` environment variables; ``gradsight.init`` arguments win."""

from __future__ import annotations

import re
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
    """``online`` sends to the server (spooling to disk while it is away); ``offline`` writes
    only the spool, for ``gradsight sync`` later; ``disabled`` records nothing."""
    spool_dir: Path = Field(default_factory=_default_spool)
    """Per-run directories of batches the server has not taken yet (docs/wire-format.md)."""
    flush_interval_s: float = Field(default=1.0, gt=0)
    """Batches leave at least this often; a SIGKILL loses at most this much telemetry."""
    heartbeat_s: float = Field(default=30.0, gt=0)
    finish_timeout_s: float = Field(default=30.0, ge=0)
    """How long ``run.finish()`` waits for the server before leaving the rest in the spool."""
    retry_max_s: float = Field(default=30.0, gt=0)
    """Longest pause between retries while the server is away (exponential backoff, jittered)."""
    peak_tflops: float | None = Field(default=None, gt=0)
    """Peak TFLOP/s of the accelerator, for MFU on hardware missing from the agent's table."""
    max_buffer_steps: int = Field(default=100_000, gt=0)
    """Closed steps held in memory before the agent drops (and counts) the oldest."""
    max_buffer_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    """Encoded batches held in memory when the spool cannot be written (disk full); beyond
    this the oldest are dropped and counted in ``agent/dropped_points``."""

    # Data-parallel jobs (docs/distributed.md).
    rank_every: int = Field(default=1, ge=1)
    """Per-rank scalars (``rank/<k>/…``) are shipped every this many steps."""
    rank_keys: str = "^loss$"
    """Regex over ``run.log`` keys that every rank also ships as ``rank/<k>/<key>`` (ranks other
    than 0 ship nothing else of what ``run.log`` receives)."""
    rank_layers_every: int = Field(default=0, ge=0)
    """Every this many steps each rank also ships its local per-parameter gradient norms
    (``rank/<k>/grad_norm/<p>``); 0 = never."""
    ddp_hook: bool = True
    """Register a DDP communication hook that measures the local gradient before the
    all-reduce (``rank/<k>/grad_norm``, ``grad_noise_scale``)."""
    noise_scale_ema: float = Field(default=0.99, ge=0, lt=1)
    """EMA factor of the gradient noise scale's numerator and denominator."""
    run_id_timeout_s: float = Field(default=60.0, gt=0)
    """How long a rank other than 0 waits for rank 0's run id in the process group's store."""

    @field_validator("rank_keys")
    @classmethod
    def _valid_regex(cls, value: str) -> str:
        re.compile(value)
        return value

    @field_validator("api_key", "run_id", "peak_tflops", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("spool_dir")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

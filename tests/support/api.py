"""Reading a run back through the real HTTP API."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx

from tests.support.procs import wait_until

_SPECIAL = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


def number(value: Any) -> float | None:
    if value is None:
        return None
    return _SPECIAL[value] if isinstance(value, str) else float(value)


def raw_series(base: str, run_id: str, key: str, headers: dict[str, str] | None = None) -> dict[int, float]:
    """Every stored point of one key as {step: value} (raw buckets: the range holds fewer
    points than requested). ``headers``: credentials, for a server that requires them."""
    body = (
        httpx.get(
            f"{base}/api/v1/runs/{run_id}/series",
            params={"keys": key, "points": 10_000},
            timeout=30,
            headers=headers,
        )
        .raise_for_status()
        .json()
    )
    entry = body["series"][0]
    assert entry["raw"], f"{key} has more than 10000 points"
    return {s: number(v) for s, v in zip(entry["step"], entry["last"], strict=True)}  # type: ignore[misc]


def get_run(base: str, run_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = httpx.get(f"{base}/api/v1/runs/{run_id}", timeout=10, headers=headers)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def wait_finished(
    base: str, run_id: str, timeout: float = 30, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Wait until the run is finished and its final batch applied."""

    def done() -> bool:
        try:
            return get_run(base, run_id, headers)["status"] == "finished"
        except httpx.HTTPStatusError:
            return False

    wait_until(done, timeout, f"run {run_id} to finish")
    return get_run(base, run_id, headers)


def diagnosed_up_to(db: Path, run_id: str) -> int | None:
    """The step the run's last diagnosis pass saw (None before the first pass). Read from the
    embedded server's SQLite file, read-only: the API does not expose the engine's cursor."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        row = conn.execute(
            "SELECT d.last_step FROM diagnosis_state d JOIN runs r ON r.pk = d.run_pk WHERE r.id = ?",
            (run_id,),
        ).fetchone()
    return None if row is None else int(row[0])

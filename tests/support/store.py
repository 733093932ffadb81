"""Reading the store below the API, for tests that must see what the API would hide: a
duplicated point (the API shows one value per step) or the ledger of batches."""

from __future__ import annotations

import numpy as np
from sqlalchemy import create_engine, text

_POINTS = text(
    """
    SELECT k.name, s.first_step, s.n, s.stride, s.steps
    FROM segments s JOIN metric_keys k ON k.id = s.key_id JOIN runs r ON r.pk = s.run_pk
    WHERE r.id = :run_id AND substr(k.name, 1, 1) <> '_'
    """
)
_LEDGER = text(
    "SELECT b.state, count(*) FROM ingest_batches b JOIN runs r ON r.pk = b.run_pk WHERE r.id = :run_id GROUP BY b.state"
)
_BATCH_IDS = text(
    "SELECT b.batch_id FROM ingest_batches b JOIN runs r ON r.pk = b.run_pk WHERE r.id = :run_id ORDER BY b.pk"
)


def _rows(database_url: str, query: object, run_id: str) -> list[tuple[object, ...]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(query, {"run_id": run_id})]
    finally:
        engine.dispose()


def stored_points(database_url: str, run_id: str) -> dict[str, tuple[int, int]]:
    """Per metric key: (points stored, distinct steps among them), from the segments table."""
    steps: dict[str, list[np.ndarray]] = {}
    for name, first, n, stride, packed in _rows(database_url, _POINTS, run_id):
        if packed is not None:
            part = np.frombuffer(packed, dtype="<i8")
        else:
            part = int(first) + int(stride) * np.arange(int(n), dtype=np.int64)
        steps.setdefault(str(name), []).append(part)
    return {
        name: (sum(p.size for p in parts), np.unique(np.concatenate(parts)).size)
        for name, parts in steps.items()
    }


def total_points(database_url: str, run_id: str) -> int:
    return sum(total for total, _ in stored_points(database_url, run_id).values())


def ledger_states(database_url: str, run_id: str) -> dict[str, int]:
    """How many of the run's batches are staged, applied, failed."""
    return {str(state): int(n) for state, n in _rows(database_url, _LEDGER, run_id)}


def batch_ids(database_url: str, run_id: str) -> list[str]:
    """The run's batch ids in arrival order."""
    return [str(batch_id) for (batch_id,) in _rows(database_url, _BATCH_IDS, run_id)]

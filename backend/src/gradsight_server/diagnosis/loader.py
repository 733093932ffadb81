"""Read what the rules need of a run from the store: every key some rule declares in its
``SIGNALS`` (exact names, or prefixes ending in ``/`` for per-layer families), over the
run's most recent ``WINDOW_STEPS`` steps."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from gradsight_server.diagnosis.rules import MODULES
from gradsight_server.diagnosis.signals import RunData, Series
from gradsight_server.store import series
from gradsight_server.store.models import Run

WINDOW_STEPS = 20_000
"""Rules look at the last 20k steps: every per-layer series at its cadence fits in a few MB,
and instabilities are judged against the run's recent history."""


def signals() -> tuple[set[str], tuple[str, ...]]:
    """(exact key names, family prefixes) that some rule reads."""
    names: set[str] = set()
    prefixes: set[str] = set()
    for module in MODULES:
        for signal in module.SIGNALS:
            (prefixes if signal.endswith("/") else names).add(signal)
    return names, tuple(sorted(prefixes))


def wanted(key: str, names: set[str], prefixes: tuple[str, ...]) -> bool:
    return key in names or key.startswith(prefixes)


def _epoch(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()  # SQLite drops the zone


def load(session: Session, run: Run, extra: tuple[str, ...] = (), stall_after_s: float = 300.0) -> RunData:
    names, prefixes = signals()
    names |= {s for s in extra if not s.endswith("/")}
    prefixes = tuple(sorted({*prefixes, *(s for s in extra if s.endswith("/"))}))
    keys = {k: i for k, i in series.all_keys(session, run.pk).items() if wanted(k, names, prefixes)}
    start = max(0, (run.last_step or 0) - WINDOW_STEPS)
    points = series.read_many(session, run.pk, keys, start=start)
    return RunData(
        run_id=run.id,
        status=run.status,
        config=run.config or {},
        metadata=run.meta or {},
        layers=list(run.layers or []),
        series={name: Series(p.steps, p.values) for name, p in points.items() if p.steps.size},
        now=time.time(),
        last_contact=_epoch(run.updated_at),
        stall_after_s=stall_after_s,
    )

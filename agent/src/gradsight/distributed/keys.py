"""Which keys a rank ships, and under which names (ARCHITECTURE.md ⚑ per-rank scalars).

Every rank captures locally. Rank 0 ships the model-wide telemetry under the usual names
(its ``grad_norm`` is the global norm after the all-reduce, like a single-process run's)
*and* its per-rank scalars; every other rank ships only its per-rank scalars, so the job's
cost on the server grows with one small set of keys per rank, not with the model's size:

- ``rank/<k>/loss`` (and any other user key matching ``GRADSIGHT_RANK_KEYS``, default
  ``^loss$``), from ``run.log`` on that rank;
- ``rank/<k>/grad_norm``: the rank's local gradient norm *before* the all-reduce
  (distributed/local_norm.py);
- ``rank/<k>/time/step_s``, ``rank/<k>/time/data_s``, ``rank/<k>/time/forward_s``;
- ``rank/<k>/grad_norm/<p>`` (local, per parameter) every ``GRADSIGHT_RANK_LAYERS_EVERY`` steps
  when that is set (off by default);
- ``rank/<k>/agent/errors``, ``rank/<k>/agent/dropped_points`` on ranks other than 0.

Per-rank keys are shipped every ``GRADSIGHT_RANK_EVERY`` steps (default every step). A
single-process run ships no ``rank/`` keys at all. Keys starting with ``_`` are internal
(user keys cannot start with one, see run.py): ``_rank/grad_norm`` carries the local norm
from capture to here and is never shipped under its own name.
"""

from __future__ import annotations

import re

from gradsight.distributed.topology import Topology

LOCAL_NORM = "_rank/grad_norm"
"""Internal key of the rank-local gradient norm (and ``_rank/grad_norm/<p>`` per parameter)."""
TIMINGS = ("time/step_s", "time/data_s", "time/forward_s")
AGENT = ("agent/errors", "agent/dropped_points")


class RankKeys:
    def __init__(self, topology: Topology, every: int = 1, user: str = "^loss$") -> None:
        self.topology = topology
        self.every = every
        self._user = re.compile(user) if user else None

    def _per_rank(self, key: str) -> str | None:
        """The name under ``rank/<k>/`` of a per-rank key, or None."""
        if key == LOCAL_NORM or key.startswith(LOCAL_NORM + "/"):
            return "grad_norm" + key[len(LOCAL_NORM) :]
        if key in TIMINGS:
            return key
        if self._user is not None and self._user.search(key) and not key.startswith(("rank/", "agent/")):
            return key
        return None

    def names(self, key: str, step: int) -> tuple[str, ...]:
        """The names ``key`` is shipped under at ``step`` (empty: not shipped)."""
        topo = self.topology
        internal = key.startswith("_")
        if not topo.distributed:
            return () if internal else (key,)
        own = () if internal or not topo.is_main else (key,)
        alias = self._per_rank(key)
        if alias is not None and (step % self.every == 0 or alias.startswith("grad_norm/")):
            return (*own, f"rank/{topo.rank}/{alias}")
        if not topo.is_main and key in AGENT:
            return (f"rank/{topo.rank}/{key}",)
        return own

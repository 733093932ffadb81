"""Where this process sits in a distributed job, and the run id every rank of the job shares.

Rank and world size come from the launcher's environment (``torchrun``: ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``; Slurm's ``srun``: ``SLURM_PROCID``, ``SLURM_NTASKS``), or from
an initialised ``torch.distributed`` process group (``torch.multiprocessing`` launchers
usually set no environment). Nothing here imports torch unless it is already imported.

The shared run id (ARCHITECTURE.md: "derived from GRADSIGHT_RUN_ID or the launcher's job
id"), first that applies:

1. ``GRADSIGHT_RUN_ID`` / ``resume=`` (the caller handles these);
2. the launcher's job id: ``TORCHELASTIC_RUN_ID`` (torchrun's ``--rdzv-id``, a fresh UUID with
   ``--standalone``), or ``SLURM_JOB_ID`` + ``SLURM_STEP_ID``, hashed with the rendezvous
   address so two jobs that reuse an id on different clusters do not merge;
3. an initialised process group: rank 0 makes a ULID and publishes it in the group's
   key-value store (the ``TCPStore`` every rank already talks to), the other ranks read it.
   That is one store round trip at ``init``, not a collective: a job that calls
   ``gradsight.init`` on rank 0 only cannot deadlock, and a rank that waits longer than
   ``GRADSIGHT_RUN_ID_TIMEOUT_S`` gives up and starts a run of its own (with a warning).

Otherwise (no job id, no process group yet) each rank starts its own run and a warning says
how to join them: set ``GRADSIGHT_RUN_ID``, or call ``gradsight.init`` after
``init_process_group``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

log = logging.getLogger("gradsight")
STORE_KEY = "gradsight/run_id"
_NO_ID = ("", "none", "None")


@dataclass(frozen=True)
class Topology:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    source: str = "single"
    """Where rank and world size came from: ``single``, ``env`` (torchrun), ``slurm``, ``process_group``."""

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def as_metadata(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "world_size": self.world_size,
            "local_rank": self.local_rank,
            "source": self.source,
        }


def _int(env: Mapping[str, str], name: str) -> int | None:
    try:
        return int(env[name])
    except (KeyError, ValueError):
        return None


def _process_group() -> Any:
    """``torch.distributed`` when it is imported, available and initialised, else None."""
    dist = sys.modules.get("torch.distributed")
    try:
        if dist is not None and dist.is_available() and dist.is_initialized():
            return dist
    except Exception:
        return None
    return None


def discover(env: Mapping[str, str] | None = None) -> Topology:
    env = os.environ if env is None else env
    rank, world = _int(env, "RANK"), _int(env, "WORLD_SIZE")
    if rank is not None and world is not None and world >= 1 and 0 <= rank < world:
        return Topology(rank, world, _int(env, "LOCAL_RANK") or 0, "env")
    dist = _process_group()
    if dist is not None:
        return Topology(dist.get_rank(), dist.get_world_size(), _int(env, "LOCAL_RANK") or 0, "process_group")
    rank, world = _int(env, "SLURM_PROCID"), _int(env, "SLURM_NTASKS")
    if rank is not None and world is not None and world > 1 and 0 <= rank < world:
        return Topology(rank, world, _int(env, "SLURM_LOCALID") or 0, "slurm")
    return Topology()


def _derived(parts: list[str]) -> str:
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()
    return f"job-{digest[:32]}"


def job_run_id(env: Mapping[str, str] | None = None) -> str | None:
    """A run id derived from the launcher's job id, identical on every rank; None without one."""
    env = os.environ if env is None else env
    where = [env.get("MASTER_ADDR", ""), env.get("MASTER_PORT", "")]
    elastic = env.get("TORCHELASTIC_RUN_ID", "")
    if elastic not in _NO_ID:
        return _derived(["torchelastic", elastic, *where])
    slurm = env.get("SLURM_JOB_ID", "")
    if slurm not in _NO_ID:
        return _derived(["slurm", slurm, env.get("SLURM_STEP_ID", ""), *where])
    return None


def store_run_id(topology: Topology, new_id: str, timeout_s: float) -> str | None:
    """Rank 0 publishes ``new_id`` in the process group's store; other ranks read it (waiting
    at most ``timeout_s``). None when there is no initialised group or the wait timed out."""
    dist = _process_group()
    if dist is None:
        return None
    try:
        from torch.distributed import distributed_c10d

        store = distributed_c10d._get_default_store()
        if topology.rank == 0:
            store.set(STORE_KEY, new_id)
            return new_id
        store.wait([STORE_KEY], timedelta(seconds=timeout_s))
        return bytes(store.get(STORE_KEY)).decode()
    except Exception as exc:  # a timeout, or a store that does not support wait
        log.warning(
            "gradsight: rank %d could not read the job's run id from rank 0 (%s); it starts a run of "
            "its own. Call gradsight.init on every rank, or set GRADSIGHT_RUN_ID.",
            topology.rank,
            exc,
        )
        return None


def shared_run_id(topology: Topology, new_id: str, timeout_s: float) -> str:
    """The run id of this rank's job (``new_id`` when it is not part of one)."""
    if not topology.distributed:
        return new_id
    found = job_run_id() or store_run_id(topology, new_id, timeout_s)
    if found is not None:
        return found
    log.warning(
        "gradsight: rank %d of %d has no job id to share a run with the other ranks (no "
        "TORCHELASTIC_RUN_ID or SLURM_JOB_ID, no initialised process group): it starts a run of "
        "its own. Set GRADSIGHT_RUN_ID, or call gradsight.init after init_process_group.",
        topology.rank,
        topology.world_size,
    )
    return new_id

"""The on-disk spool: batches the server has not taken yet, one directory per run.

Layout (docs/wire-format.md, "Spool"):

    <GRADSIGHT_SPOOL_DIR>/<run id>/run.json        the POST /runs body (id, project, name, config, metadata)
    <GRADSIGHT_SPOOL_DIR>/<run id>/<name>.batch    one gzip'd msgpack body each, exactly as POSTed

Batch names are ``<agent start, ms, 13 digits>-<agent id>-<sequence, 9 digits>.batch``, so lexical
order is send order (per agent, and agents in the order they started). Every file is written
to a hidden temporary name, fsynced and renamed, so a reader never sees half a batch; a
crash leaves at most a ``.tmp`` file, which readers ignore. Files are only appended and
deleted, never rewritten, so a live agent and ``gradsight sync`` may work on one directory
at once: batch ids make a double upload harmless.

Cost: two fsyncs per file (the file, then its directory for the rename). Files are written
only while the server is away or slow, at most one per flush interval per agent.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

RUN_FILE = "run.json"
BATCH_SUFFIX = ".batch"
REJECTED_SUFFIX = ".rejected"


def batch_name(started_ms: int, agent_id: str, seq: int) -> str:
    return f"{started_ms:013d}-{agent_id}-{seq:09d}{BATCH_SUFFIX}"


def write_atomically(path: Path, data: bytes) -> None:
    """tmp + fsync + rename (+ fsync of the directory, so the rename survives a power cut)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class RunSpool:
    """One run's spool directory. Every method may raise ``OSError`` (disk full, read-only,
    permissions); callers on the agent's threads catch it."""

    def __init__(self, root: Path, run_id: str) -> None:
        self.path = root / run_id

    def write_run(self, body: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path / RUN_FILE, json.dumps(body, allow_nan=False).encode())

    def read_run(self) -> dict[str, Any] | None:
        try:
            body: dict[str, Any] = json.loads((self.path / RUN_FILE).read_bytes())
        except FileNotFoundError:
            return None
        return body

    def append(self, name: str, body: bytes) -> Path:
        path = self.path / name
        try:
            write_atomically(path, body)
        except FileNotFoundError:  # another process of the run (a rank) removed it when empty
            self.path.mkdir(parents=True, exist_ok=True)
            write_atomically(path, body)
        return path

    def batches(self) -> list[Path]:
        """Batch files in send order."""
        try:
            return sorted(p for p in self.path.iterdir() if p.name.endswith(BATCH_SUFFIX))
        except FileNotFoundError:
            return []

    def rejected(self) -> list[Path]:
        try:
            return sorted(p for p in self.path.iterdir() if p.name.endswith(REJECTED_SUFFIX))
        except FileNotFoundError:
            return []

    @staticmethod
    def remove(path: Path) -> None:
        """A batch the server took (2xx). Already gone is fine: another uploader took it."""
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    @staticmethod
    def reject(path: Path) -> None:
        """A batch the server refused (4xx): kept aside for inspection, never re-sent."""
        with contextlib.suppress(FileNotFoundError):
            path.rename(path.with_name(path.name + REJECTED_SUFFIX))

    def remove_if_done(self) -> bool:
        """Delete the directory once no batch is left in it. Returns whether it is gone."""
        if self.batches() or self.rejected():
            return False
        with contextlib.suppress(FileNotFoundError):
            (self.path / RUN_FILE).unlink()
        try:
            self.path.rmdir()
        except FileNotFoundError:
            return True
        except OSError:  # something else lives there (a temporary file being written)
            return False
        return True


def find_runs(path: Path) -> Iterator[RunSpool]:
    """``path`` is one run's spool directory, or a directory of them (the spool root)."""
    if (path / RUN_FILE).exists() or any(p.name.endswith(BATCH_SUFFIX) for p in path.iterdir()):
        yield RunSpool(path.parent, path.name)
        return
    for child in sorted(path.iterdir()):
        if child.is_dir() and not child.name.startswith("."):
            yield RunSpool(path, child.name)

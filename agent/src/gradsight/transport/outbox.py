"""The agent's ordered queue of batches the server has not taken yet.

A batch lives in memory while the uploader keeps up and in the run's spool otherwise; the
queue keeps send order either way (the oldest batch is always sent first, wherever it lives).
Memory is bounded: when the spool cannot be written (disk full) batches stay in memory up to
``max_bytes``; past that the oldest of them are dropped and counted, never the one on the wire.

Shared by the collector thread (adds, persists) and the uploader thread (sends, settles)
under one lock; the training thread never touches it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(eq=False)
class Item:
    batch_id: str
    name: str
    """File name in the spool (its order is send order)."""
    points: int
    body: bytes | None
    """The encoded batch while it is held in memory (None once it is only on disk)."""
    path: Path | None = None
    """Where it is spooled, if it is."""
    final: bool = False
    """It marks the run finished."""
    created: float = field(default_factory=time.monotonic)


@dataclass
class Counts:
    batches_built: int = 0
    points_built: int = 0
    batches_sent: int = 0
    points_sent: int = 0
    batches_spooled: int = 0
    points_spooled: int = 0
    batches_dropped: int = 0
    points_dropped: int = 0
    """Lost: rejected by the server or dropped from a full buffer (reported in agent/dropped_points)."""
    failed_sends: int = 0
    """Attempts that will be retried: network errors, 408, 429, 5xx."""


class Outbox:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.counts = Counts()
        self._items: deque[Item] = deque()
        self._memory = 0
        self._in_flight: Item | None = None
        self._cond = threading.Condition()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    @property
    def memory_bytes(self) -> int:
        with self._cond:
            return self._memory

    def add(self, item: Item, front: bool = False) -> None:
        """A new batch (``front``: one left in the spool by an earlier process of this run)."""
        with self._cond:
            if front:
                self._items.appendleft(item)
            else:
                self._items.append(item)
                self.counts.batches_built += 1
                self.counts.points_built += item.points
            if item.body is not None:
                self._memory += len(item.body)
            self._cond.notify_all()

    def in_memory(self) -> list[Item]:
        """Batches not yet on disk, oldest first."""
        with self._cond:
            return [i for i in self._items if i.path is None]

    def persisted(self, item: Item, path: Path) -> bool:
        """``item`` is now in the spool too; its memory is released unless it is on the wire.
        False if the server took it while it was being written (the file is then redundant)."""
        with self._cond:
            if item not in self._items:
                return False
            item.path = path
            self.counts.batches_spooled += 1
            self.counts.points_spooled += item.points
            if item is not self._in_flight and item.body is not None:
                self._memory -= len(item.body)
                item.body = None
            return True

    def shed(self) -> list[Item]:
        """Drop the oldest in-memory batches (never the one on the wire) until memory fits."""
        dropped = []
        with self._cond:
            for item in list(self._items):
                if self._memory <= self.max_bytes:
                    break
                if item.path is None and item is not self._in_flight and item.body is not None:
                    self._items.remove(item)
                    self._memory -= len(item.body)
                    self.counts.batches_dropped += 1
                    self.counts.points_dropped += item.points
                    dropped.append(item)
        return dropped

    def take(self, timeout: float) -> Item | None:
        """The oldest batch, marked as on the wire; None if none arrives within ``timeout``."""
        with self._cond:
            if not self._items:
                self._cond.wait(timeout)
            if not self._items:
                return None
            self._in_flight = self._items[0]
            return self._in_flight

    def settle(self, item: Item, *, sent: bool) -> Path | None:
        """The server took the batch (``sent``), or refused it for good (counted as dropped).
        Returns its spool file, which the caller deletes or sets aside."""
        with self._cond:
            self._in_flight = None
            if item not in self._items:
                return item.path
            self._items.remove(item)
            if item.body is not None:
                self._memory -= len(item.body)
                item.body = None
            if sent:
                self.counts.batches_sent += 1
                self.counts.points_sent += item.points
            else:
                self.counts.batches_dropped += 1
                self.counts.points_dropped += item.points
            self._cond.notify_all()
            return item.path

    def release(self, item: Item) -> None:
        """The send failed and will be retried; a spooled batch need not stay in memory."""
        with self._cond:
            self._in_flight = None
            if item.path is not None and item.body is not None:
                self._memory -= len(item.body)
                item.body = None

    def forget(self, item: Item) -> None:
        """Another uploader (``gradsight sync``, another rank) already took a spooled batch."""
        with self._cond:
            self._in_flight = None
            if item in self._items:
                self._items.remove(item)
            self._cond.notify_all()

    def wait_empty(self, deadline: float) -> bool:
        with self._cond:
            while self._items:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.5))
            return True

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

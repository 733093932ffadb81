"""A real server-sent-events client for tests: reads a stream on a thread, parses events."""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Event:
    name: str
    data: Any


class EventStream:
    def __init__(self, url: str) -> None:
        self.events: queue.Queue[Event | None] = queue.Queue()
        self.status: int | None = None
        self.headers: httpx.Headers | None = None
        self._url = url
        self._connected = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        self._connected.wait(10)

    def _read(self) -> None:
        try:
            with httpx.stream("GET", self._url, timeout=httpx.Timeout(10, read=None)) as response:
                self.status, self.headers = response.status_code, response.headers
                self._connected.set()
                name, data = "message", ""
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        name = line[6:].strip()
                    elif line.startswith("data:"):
                        data += line[5:].strip()
                    elif not line and data:
                        self.events.put(Event(name, json.loads(data)))
                        name, data = "message", ""
        except httpx.HTTPError:
            pass
        finally:
            self._connected.set()
            self.events.put(None)  # the stream ended

    def until(self, predicate: Any, timeout: float) -> list[Event]:
        """Events received until one satisfies ``predicate`` (that one included)."""
        got: list[Event] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if event is None:
                raise AssertionError(f"the stream ended after {got}")
            got.append(event)
            if predicate(event):
                return got
        raise AssertionError(f"timed out; received {got}")

    def ended(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

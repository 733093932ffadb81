"""Fixed-window request counters: per API key, and per user name and client address for
logins. With Redis (self-hosted) the counters are shared by every API process; embedded,
they live in this process.

A fixed one-minute window may let through up to twice the limit across a window edge; that
is the price of one ``INCR`` per request instead of a sorted set. When Redis is down the
limiter lets requests through (ingest must not stop because the limiter's store did) and
says so once a minute.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

import redis

from gradsight_server.ingest.throttle import Throttle

log = logging.getLogger(__name__)
WINDOW_S = 60
_REDIS_DOWN = Throttle()


class Limiter(Protocol):
    def hit(self, bucket: str, limit: int) -> int | None:
        """Count one request in ``bucket``; None if allowed, else seconds until the window resets."""

    def blocked(self, bucket: str, limit: int) -> int | None:
        """Whether ``bucket`` already reached ``limit`` (seconds until the reset), counting nothing."""


def _window() -> tuple[int, int]:
    t = int(time.time())
    return t // WINDOW_S, WINDOW_S - t % WINDOW_S


class MemoryLimiter:
    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, bucket: str, limit: int) -> int | None:
        window, left = _window()
        with self._lock:
            if len(self._counts) > 100_000:  # bounded: old windows are dropped wholesale
                self._counts = {k: v for k, v in self._counts.items() if v[0] == window}
            seen_window, count = self._counts.get(bucket, (window, 0))
            count = count + 1 if seen_window == window else 1
            self._counts[bucket] = (window, count)
        return None if count <= limit else left

    def blocked(self, bucket: str, limit: int) -> int | None:
        window, left = _window()
        with self._lock:
            seen_window, count = self._counts.get(bucket, (window, 0))
        return left if seen_window == window and count >= limit else None


class RedisLimiter:
    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def hit(self, bucket: str, limit: int) -> int | None:
        window, left = _window()
        key = f"gradsight:ratelimit:{bucket}:{window}"
        try:
            pipe = self._client.pipeline()
            pipe.incr(key)
            pipe.expire(key, WINDOW_S * 2)
            count = int(pipe.execute()[0])
        except redis.RedisError as exc:
            if _REDIS_DOWN.ready():
                log.warning("rate limiter: Redis unavailable (%s); requests are not limited meanwhile", exc)
            return None
        return None if count <= limit else left

    def blocked(self, bucket: str, limit: int) -> int | None:
        window, left = _window()
        try:
            count = int(self._client.get(f"gradsight:ratelimit:{bucket}:{window}") or 0)
        except redis.RedisError:
            return None
        return left if count >= limit else None


def make_limiter(redis_url: str | None) -> Limiter:
    return RedisLimiter(redis_url) if redis_url else MemoryLimiter()

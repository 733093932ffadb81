"""Live-update notices fanned out to this API process's event streams.

Each stream holds a :class:`Subscription` that keeps only the latest notice per subject —
the run's steps, or one diagnosis: notices are state ("data up to step S", "this diagnosis
is now open/critical"), so a slow client gets the newest of each instead of a growing
backlog, and memory per stream is bounded.

Notices arrive from the embedded ingest thread (:meth:`Broadcaster.publish`, thread-safe)
or, with Redis, from :class:`RedisListener`: one pub/sub connection per API process,
reconnecting with backoff. After each (re)connection every stream is told to re-read its
run (``RESYNC``), so nothing published while Redis was away is missed for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gradsight_server.ingest.notices import CHANNEL, Notice

log = logging.getLogger(__name__)

RESYNC = "_resync"
"""A pseudo-event: re-read the run's state (the notice source reconnected)."""


class Subscription:
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._latest: dict[tuple[str, str], Notice] = {}
        self._ready = asyncio.Event()
        self.closed = False

    def put(self, notice: Notice) -> None:
        # Coalesce per subject: one ``steps`` state per run, one state per diagnosis (its id),
        # so a pass that opens five diagnoses delivers five events, and memory stays bounded.
        self._latest[(notice.event, str(notice.data.get("id", "")))] = notice
        self._ready.set()

    def close(self) -> None:
        self.closed = True
        self._ready.set()

    async def next(self, timeout: float) -> list[Notice]:
        """The notices since the last call (latest per event and subject); empty after ``timeout``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout)
        self._ready.clear()
        notices, self._latest = list(self._latest.values()), {}
        return notices


class Broadcaster:
    def __init__(self) -> None:
        self._subscriptions: dict[str, set[Subscription]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def publish(self, notice: Notice) -> None:
        """Deliver a notice; safe to call from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile (shutdown)
            loop.call_soon_threadsafe(self.deliver, notice)

    def deliver(self, notice: Notice) -> None:
        """Deliver a notice (on the event loop)."""
        for subscription in self._subscriptions.get(notice.run_id, ()):
            subscription.put(notice)

    def resync(self) -> None:
        for run_id, subscriptions in self._subscriptions.items():
            for subscription in subscriptions:
                subscription.put(Notice(run_id, RESYNC))

    @contextlib.contextmanager
    def subscribe(self, run_id: str) -> Iterator[Subscription]:
        subscription = Subscription(run_id)
        self._subscriptions.setdefault(run_id, set()).add(subscription)
        try:
            yield subscription
        finally:
            remaining = self._subscriptions.get(run_id, set())
            remaining.discard(subscription)
            if not remaining:
                self._subscriptions.pop(run_id, None)

    def close(self) -> None:
        for subscriptions in self._subscriptions.values():
            for subscription in subscriptions:
                subscription.close()

    @property
    def streams(self) -> int:
        return sum(len(s) for s in self._subscriptions.values())


class RedisListener:
    """Feeds a broadcaster from the Redis channel workers publish on."""

    def __init__(self, url: str, broadcaster: Broadcaster) -> None:
        self._url = url
        self._broadcaster = broadcaster
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="gradsight-notices")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        delay, warned = 0.5, False
        while True:
            client = aioredis.Redis.from_url(self._url, socket_connect_timeout=2, health_check_interval=10)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    if warned:
                        log.info("live-update notices resumed")
                    delay, warned = 0.5, False
                    self._broadcaster.resync()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            notice = Notice.decode(message["data"])
                            if notice is not None:
                                self._broadcaster.deliver(notice)
            except (RedisError, OSError) as exc:
                if not warned:
                    log.warning("live-update notices paused: Redis unavailable (%s); retrying", exc)
                    warned = True
            finally:
                await client.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

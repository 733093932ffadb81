"""Live-update notices: "run R now has data up to step S", published after each applied batch.

With Redis, workers publish on one pub/sub channel and every API process fans the notices
out to its server-sent-event streams (api/broadcast.py). Embedded, the ingest thread hands
them to the API's in-process broadcaster. Publishing is best effort: a notice is state, not
an event to replay (the next one, or a stream reconnecting, reads the current state), so a
Redis outage costs live updates only, never data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis

from gradsight_server.ingest.throttle import Throttle

log = logging.getLogger(__name__)

CHANNEL = "gradsight:events"
STEPS = "steps"
DIAGNOSIS = "diagnosis"


@dataclass(frozen=True)
class Notice:
    run_id: str
    event: str
    """The server-sent event name: ``steps`` or ``diagnosis``."""
    data: dict[str, Any] = field(default_factory=dict)
    """The event's JSON payload, as streams send it."""
    batch_id: str | None = None
    """The batch that caused it (for latency measurement; not part of the event)."""

    def encode(self) -> bytes:
        return orjson.dumps(
            {"run_id": self.run_id, "event": self.event, "data": self.data, "batch_id": self.batch_id}
        )

    @classmethod
    def decode(cls, raw: bytes | str) -> Notice | None:
        try:
            doc = orjson.loads(raw)
            return cls(str(doc["run_id"]), str(doc["event"]), dict(doc["data"]), doc.get("batch_id"))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None


class RedisPublisher:
    """Publishes notices from a worker process; at most one warning per minute while Redis is away."""

    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._down = Throttle()

    def __call__(self, notice: Notice) -> None:
        try:
            self._client.publish(CHANNEL, notice.encode())
        except redis.RedisError as exc:
            if self._down.ready():
                log.warning("live-update notices are not published (Redis: %s); data is unaffected", exc)

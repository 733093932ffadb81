"""Kombu's Redis transport, with one fix for surviving a Redis restart.

When a worker loses its broker connection while it holds unacknowledged messages (with
``acks_late`` it nearly always does), Celery 5.7 first *collects* the connection (dropping
the transport's reference to its broker URL) and then *closes* it; closing tries to push the
unacknowledged messages back to the queue, which needs that URL, raises ``AttributeError``,
and the worker exits with "Unrecoverable error" (status 0) instead of reconnecting. (Reproduced
by tests/integration/test_ingest_faults.py; the same family as celery/kombu#582 and #970.)

Here the close skips that push when the connection is already gone: the messages stay in
Redis's ``unacked`` hash, and kombu's periodic ``restore_visible`` re-queues them after the
visibility timeout, the same path that recovers them when a worker is killed outright.
Selected with Celery's ``broker_transport`` setting (ingest/celery_app.py).
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.transport import redis as kombu_redis

log = logging.getLogger(__name__)


class QoS(kombu_redis.QoS):
    def restore_unacked(self, client: Any = None) -> Any:
        if client is None and self.channel.connection is not None and self.channel.connection.client is None:
            log.warning(
                "broker connection lost with %d unacknowledged message(s); they stay in Redis and "
                "are delivered again after the visibility timeout",
                len(self._delivered),
            )
            self._delivered.clear()  # as the parent does once it has restored them
            return None
        return super().restore_unacked(client)  # type: ignore[no-untyped-call]


class Channel(kombu_redis.Channel):
    QoS = QoS


class Transport(kombu_redis.Transport):
    Channel = Channel


TRANSPORT = f"{__name__}:Transport"

"""The agent's uploader thread: sends the oldest untaken batch first, wherever it lives
(memory or spool), so order is kept across outages (see transport/sender.py).

Failures follow ARCHITECTURE.md: network errors, 408, 429 and 5xx back off (exponential,
jittered, at least Retry-After) and retry; 404 means the server does not know the run, so
it is created again; any other 4xx means the batch is malformed or unauthorised: it is
dropped, counted in ``agent/dropped_points``, logged once, and its spool file set aside.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from gradsight.errors import ErrorLog
from gradsight.settings import AgentSettings
from gradsight.transport import wire
from gradsight.transport.client import Backoff, HttpClient
from gradsight.transport.columns import Columns
from gradsight.transport.outbox import Outbox
from gradsight.transport.spool import RunSpool
from gradsight.transport.upload import Verdict, create_run, post_batch

RunRequest = Callable[[], tuple[dict[str, Any], int]]
"""The POST /runs body and the metadata version it holds."""


class Uploader:
    def __init__(
        self,
        run_id: str,
        agent_id: str,
        outbox: Outbox,
        spool: RunSpool,
        settings: AgentSettings,
        errors: ErrorLog,
        run_request: RunRequest,
        metadata_version: Callable[[], int],
    ) -> None:
        self.run_id = run_id
        self._agent_id = agent_id
        self._outbox = outbox
        self._spool = spool
        self._settings = settings
        self._errors = errors
        self._run_request = run_request
        self._metadata_version = metadata_version
        self._client = HttpClient(settings.url, settings.api_key)
        self._run_sent_version = -1  # metadata version the server has
        self.healthy = True
        """The last exchange with the server succeeded (the collector spools while it is not)."""
        self.run_refused = False
        """The server refused to create the run: everything goes to the spool."""
        self._run_done = False  # the server has a final batch
        self.stop = threading.Event()
        self.kick = threading.Event()  # cuts a backoff pause short (finish, stop)
        self.thread = threading.Thread(target=self._loop, name="gradsight-upload", daemon=True)

    def _loop(self) -> None:
        backoff = Backoff(cap=self._settings.retry_max_s)
        last_contact = time.monotonic()
        try:
            while not self.stop.is_set():
                delay = self._once(backoff, last_contact)
                if delay is None:
                    backoff.reset()
                    last_contact = time.monotonic()
                elif delay > 0:
                    self.kick.wait(delay)
                    self.kick.clear()
        except Exception as exc:
            self._errors.report("upload", exc)
        finally:
            self._client.close()

    def _failed(self, backoff: Backoff, hint: float | None = None) -> float:
        self.healthy = False
        self._outbox.counts.failed_sends += 1  # only this thread writes it
        return backoff.next_delay(hint)

    def _once(self, backoff: Backoff, last_contact: float) -> float | None:
        """One step of work. Returns None after an exchange that succeeded, 0 when there was
        nothing to do, or the pause before the next attempt."""
        if self.run_refused:
            self.stop.wait(0.5)
            return 0.0
        if self._metadata_behind():
            return self._create_run(backoff)
        idle_for = time.monotonic() - last_contact
        item = self._outbox.take(timeout=max(0.05, min(0.5, self._settings.heartbeat_s - idle_for)))
        if item is None:
            if time.monotonic() - last_contact >= self._settings.heartbeat_s:
                return self._heartbeat(backoff)
            return 0.0
        if self._metadata_behind():  # metadata first: after the final batch it could not follow
            self._outbox.release(item)
            return 0.0
        body = item.body
        if body is None:
            assert item.path is not None
            try:
                body = item.path.read_bytes()
            except FileNotFoundError:
                self._outbox.forget(item)  # another uploader took it
                return 0.0
            except OSError as exc:
                self._outbox.release(item)
                self._errors.report("spool-read", exc)
                return self._failed(backoff)
        outcome = post_batch(self._client, self.run_id, body)
        if outcome.verdict is Verdict.TAKEN:
            self.healthy = True
            path = self._outbox.settle(item, sent=True)
            if path is not None:
                self._spool.remove(path)
            if item.final:
                self._run_done = True
            return None
        if outcome.verdict is Verdict.NO_RUN:
            self._outbox.release(item)
            self._run_sent_version = -1  # the server lost the run: create it again
            self._run_done = False
            return backoff.next_delay()
        if outcome.verdict is Verdict.RETRY:
            self._outbox.release(item)
            return self._failed(backoff, outcome.retry_after)
        path = self._outbox.settle(item, sent=False)
        if path is not None:
            self._spool.reject(path)
        self._errors.warn_once(
            f"rejected-{outcome.status}",
            f"server rejected a batch ({outcome.status}): {outcome.detail}; "
            "it was dropped and counted in agent/dropped_points",
        )
        return None

    def _metadata_behind(self) -> bool:
        """The server's copy of the run (POST /runs) is older than ours. Once it has the final
        batch it is left alone: POST /runs on a finished run would resume it."""
        return self._run_sent_version != self._metadata_version() and not self._run_done

    def _create_run(self, backoff: Backoff) -> float | None:
        body, version = self._run_request()
        outcome = create_run(self._client, body)
        if outcome.verdict is Verdict.TAKEN:
            self._run_sent_version = version
            self.healthy = True
            return None
        if outcome.verdict is Verdict.RETRY:
            return self._failed(backoff, outcome.retry_after)
        self.run_refused = True
        self.healthy = False
        self._errors.warn_once(
            "create-run",
            f"server refused run {self.run_id} ({outcome.status}): {outcome.detail}; its telemetry "
            f"goes to {self._spool.path} (upload it with `gradsight sync` once the problem is fixed)",
        )
        return 0.0

    def _heartbeat(self, backoff: Backoff) -> float | None:
        # Heartbeats are not stored, so they need no sequence number of their own.
        body = wire.encode(wire.document(self.run_id, f"{self._agent_id}:hb", Columns()))
        if post_batch(self._client, self.run_id, body).verdict is Verdict.TAKEN:
            self.healthy = True
            return None
        return self._failed(backoff)

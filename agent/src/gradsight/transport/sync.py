"""Upload spooled runs (``gradsight sync DIR``): what an offline run wrote, or what a live run
could not send before it finished or was killed.

Batches go in spool order, each exactly as the agent would have POSTed it; a file is deleted
only after the server answered 2xx, so an interrupted sync is simply run again (batch ids
make re-sends harmless: the server answers ``duplicate``). The run is created from
``run.json`` only when the server does not know it: creating an existing run would resume
it, and a finished run must stay finished.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from gradsight.transport.client import Backoff, HttpClient
from gradsight.transport.spool import RunSpool
from gradsight.transport.upload import Outcome, Verdict, create_run, post_batch


@dataclass
class RunReport:
    run_id: str
    label: str = ""
    uploaded: int = 0
    """Batches the server took (new or already known)."""
    points: int = 0
    """Points the server did not have before."""
    duplicate_batches: int = 0
    rejected: int = 0
    left: int = 0
    problem: str | None = None


class Patience:
    """Gives up after ``seconds`` without any progress, across all runs of one sync."""

    def __init__(self, seconds: float, backoff: Backoff, sleep: Callable[[float], None] = time.sleep) -> None:
        self._seconds = seconds
        self._backoff = backoff
        self._sleep = sleep
        self._last_progress = time.monotonic()

    def progress(self) -> None:
        self._last_progress = time.monotonic()
        self._backoff.reset()

    def wait(self, hint: float | None) -> bool:
        """Pause before a retry; False once patience has run out."""
        remaining = self._last_progress + self._seconds - time.monotonic()
        if remaining <= 0:
            return False
        self._sleep(min(self._backoff.next_delay(hint), remaining))
        return True


def _label(spool: RunSpool) -> str:
    body = spool.read_run() or {}
    project, name = body.get("project"), body.get("name")
    return f" ({project}/{name})" if project and name and name != spool.path.name else ""


def sync_run(spool: RunSpool, client: HttpClient, patience: Patience) -> RunReport:
    run_id = spool.path.name
    report = RunReport(run_id, _label(spool))
    created = False
    for path in spool.batches():
        while True:
            try:
                body = path.read_bytes()
            except FileNotFoundError:  # a live agent or another sync took it meanwhile
                break
            outcome = post_batch(client, run_id, body)
            if outcome.verdict is Verdict.TAKEN:
                spool.remove(path)
                patience.progress()
                report.uploaded += 1
                report.duplicate_batches += outcome.duplicate
                report.points += 0 if outcome.duplicate else outcome.points
                break
            if outcome.verdict is Verdict.REFUSED:
                spool.reject(path)
                report.rejected += 1
                report.problem = f"the server refused a batch ({outcome.status}): {outcome.detail}"
                break
            if outcome.verdict is Verdict.NO_RUN and not created:
                outcome = _create(spool, client)
                created = outcome.verdict is Verdict.TAKEN
                if outcome.verdict is Verdict.TAKEN:
                    continue
            if outcome.verdict is Verdict.REFUSED or outcome.verdict is Verdict.NO_RUN:
                report.problem = _refusal(outcome)
                return _finish(spool, report)
            if not patience.wait(outcome.retry_after):
                report.problem = f"the server is unavailable ({outcome.status or outcome.detail})"
                return _finish(spool, report)
    return _finish(spool, report)


def _create(spool: RunSpool, client: HttpClient) -> Outcome:
    body = spool.read_run()
    if body is None:
        return Outcome(
            Verdict.REFUSED, detail=f"the server does not know the run and {spool.path} has no run.json"
        )
    return create_run(client, body)


def _refusal(outcome: Outcome) -> str:
    if outcome.verdict is Verdict.NO_RUN:
        return "the server does not know the run even after creating it"
    if outcome.status is None:
        return outcome.detail
    return f"the server refused to create the run ({outcome.status}): {outcome.detail}"


def _finish(spool: RunSpool, report: RunReport) -> RunReport:
    report.left = len(spool.batches())
    if not report.left and not report.rejected:
        spool.remove_if_done()
    return report

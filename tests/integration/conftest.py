from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import torch

import gradsight
from gradsight.run import Run
from tests.support.api import get_run, raw_series
from tests.support.databases import fresh_database
from tests.support.procs import wait_until
from tests.support.stack import Stack
from tests.support.store import ledger_states, stored_points
from tests.support.training import mlp, train

# The agent in these tests flushes five times a second and retries at least every half second.
FAST_AGENT = {
    "GRADSIGHT_FLUSH_INTERVAL_S": "0.2",
    "GRADSIGHT_RETRY_MAX_S": "0.5",
    "GRADSIGHT_FINISH_TIMEOUT_S": "60",
}


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """API + one Celery worker (two pool processes) + private Redis + fresh PostgreSQL.
    Tests may break any part of it but leave it running again."""
    base = tmp_path_factory.mktemp("faults")
    with fresh_database("gradsight_faults") as database_url:
        stack = Stack(base, database_url)
        try:
            stack.start_api()
            stack.start_worker()
            yield stack
        finally:
            stack.close()


@pytest.fixture
def fast_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAST_AGENT.items():
        monkeypatch.setenv(name, value)


def train_paced(run: Run, steps: int, pace_s: float = 0.02) -> dict[int, float]:
    """A real training loop (tiny MLP, watched), slowed so faults can happen during it.
    Returns the loss of every step, as the loop computed it."""
    model = mlp()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    run.watch(model, opt)
    return dict(enumerate(train(run, model, opt, steps, after_backward=lambda _: time.sleep(pace_s))))


def at(delay_s: float, action: Callable[[], object]) -> Callable[[], None]:
    """Run ``action`` on a timer thread after ``delay_s``; returns a join function that
    re-raises what the action raised."""
    errors: list[BaseException] = []

    def run() -> None:
        time.sleep(delay_s)
        try:
            action()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def join() -> None:
        thread.join(120)
        if errors:
            raise errors[0]

    return join


def train_through(
    run: Run, fault: Callable[[], object], start_s: float = 1.5, steps: int = 350
) -> dict[int, float]:
    """Train ``steps`` paced steps (~8 s) while ``fault`` runs on a timer thread from
    ``start_s``; then finish the run. Returns the loop's losses."""
    join = at(start_s, fault)
    losses = train_paced(run, steps)
    join()
    run.finish()
    return losses


def assert_exactly_once(
    stack: Stack,
    run: Run,
    losses: dict[int, float],
    *,
    batches: int | None = None,
    points: int | None = None,
    timeout: float = 90,
) -> None:
    """Every point the agent built is stored once: the ledger applied every batch, the
    segments hold each (key, step) exactly once, and the losses are the loop's.
    ``batches``/``points``: what was delivered some other way than by the run's own agent
    (a sync); by default, the agent must have delivered everything itself."""
    stats = run._sender.stats
    assert stats.points_dropped == 0, stats
    if batches is None:
        assert stats.pending_batches == 0, stats
    want_batches = stats.batches_built if batches is None else batches
    want_points = stats.points_built if points is None else points

    def settled() -> bool:
        stored = stored_points(stack.database_url, run.id)
        return (
            ledger_states(stack.database_url, run.id) == {"applied": want_batches}
            and sum(total for total, _ in stored.values()) == want_points
        )

    wait_until(settled, timeout, f"all {want_points} points of run {run.id} to be stored", interval=0.5)
    for key, (total, distinct) in stored_points(stack.database_url, run.id).items():
        assert total == distinct, f"{key}: {total} points stored for {distinct} steps"
    got = raw_series(stack.url, run.id, "loss")
    assert sorted(got) == sorted(losses)
    assert all(math.isclose(got[s], losses[s], rel_tol=1e-6) for s in losses)
    assert get_run(stack.url, run.id)["status"] == "finished"


def new_run(stack: Stack, name: str) -> Run:
    return gradsight.init(project="faults", name=name, server=stack.url)


def created_on_server(stack: Stack, run: Run) -> None:
    """Log a first value and wait until the agent has created the run on the server."""
    run.log({"warmup": 1.0}, step=0)
    wait_until(
        lambda: httpx.get(f"{stack.url}/api/v1/runs/{run.id}").status_code == 200, 20, "the run on the server"
    )

"""Many ranks of one job posting into one run at the same time, every batch twice (a retry
racing its original): no point lost, none duplicated, no deadlock — on the self-hosted stack
(PostgreSQL, Celery workers applying batches of the same run in parallel) and on the
embedded server (SQLite, concurrent requests staging into one file)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.api import raw_series
from tests.support.databases import fresh_database
from tests.support.procs import Server, wait_until
from tests.support.ranks import SimRank, create_run, post_all, value
from tests.support.stack import Stack
from tests.support.store import ledger_states, stored_points

RANKS, BATCHES, STEPS = 24, 6, 20


@pytest.fixture(scope="module")
def postgres_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Stack]]:
    base = tmp_path_factory.mktemp("ranks-pg")
    with fresh_database("gradsight_ranks") as database_url:
        stack = Stack(base, database_url)
        try:
            stack.start_api()
            stack.start_worker(concurrency=3)
            yield stack.url, database_url, stack
        finally:
            stack.close()


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, None]]:
    base = tmp_path_factory.mktemp("ranks-sqlite")
    srv = Server({"GRADSIGHT_DATA_DIR": str(base / "data")}, base / "logs").wait_ready()
    yield srv.url, f"sqlite:///{base / 'data' / 'gradsight.db'}", None
    srv.stop()


@pytest.mark.parametrize("backend", ["postgres_stack", "sqlite_server"])
def test_concurrent_ranks_of_one_run_lose_and_duplicate_nothing(
    backend: str, request: pytest.FixtureRequest
) -> None:
    url, database_url, stack = request.getfixturevalue(backend)
    run_id = f"ranks-{backend.replace('_', '-')}"
    create_run(url, run_id)
    sims = [SimRank(run_id, k, layers=50 if k == 0 else 0) for k in range(RANKS)]
    batches = [sim.batch(b * STEPS, STEPS) for b in range(BATCHES) for sim in sims]
    bodies = batches + batches  # every batch twice: the retry races the original
    random.Random(0).shuffle(bodies)
    failures = post_all(url, run_id, bodies, threads=16)
    assert not failures

    want_points = sum(points for _, _, points in batches)

    def settled() -> bool:
        return (
            ledger_states(database_url, run_id) == {"applied": len(batches)}
            and sum(total for total, _ in stored_points(database_url, run_id).values()) == want_points
        )

    wait_until(settled, 120, f"{len(batches)} batches of {RANKS} ranks to be applied", interval=0.5)
    stored = stored_points(database_url, run_id)
    assert all(total == distinct == BATCHES * STEPS for total, distinct in stored.values()), stored
    keys = set(httpx.get(f"{url}/api/v1/runs/{run_id}/keys").json()["items"])
    assert keys == {k for sim in sims for k in sim.key_names()}
    for sim in (sims[0], sims[7], sims[-1]):  # values, not just counts
        for i, key in enumerate(sim.key_names()[:6]):
            got = raw_series(url, run_id, key)
            assert got == {s: pytest.approx(value(sim.rank, i, s)) for s in range(BATCHES * STEPS)}
    run = httpx.get(f"{url}/api/v1/runs/{run_id}").json()
    assert run["last_step"] == BATCHES * STEPS - 1 and run["status"] == "running"
    if stack is not None:
        # Applies of one run in parallel once deadlocked on the run row (store/runs.py,
        # record_progress); retries hid it, at the cost of seconds per batch.
        assert "deadlock detected" not in stack.worker_log()


def test_ranks_finishing_in_any_order_leave_the_run_finished_by_rank_0(
    sqlite_server: tuple[str, str, None], tmp_path: Path
) -> None:
    """Only rank 0's final batch finishes the run (distributed/keys.py, transport/sender.py):
    checked here with the real agent in two processes' worth of settings."""
    from gradsight.distributed.topology import Topology
    from gradsight.run import Run
    from gradsight.settings import AgentSettings

    url, _, _ = sqlite_server
    settings = AgentSettings(url=url, spool_dir=tmp_path / "spool", flush_interval_s=0.1)
    other = Run(
        run_id="finish-order",
        project="ranks",
        name=None,
        config={},
        settings=settings,
        topology=Topology(1, 2),
    )
    other.log({"loss": 1.0}, step=0)
    other.finish()
    status = httpx.get(f"{url}/api/v1/runs/finish-order").json()["status"]
    assert status == "running"  # rank 1 is done; the job is not
    main = Run(
        run_id="finish-order",
        project="ranks",
        name=None,
        config={},
        settings=settings,
        topology=Topology(0, 2),
    )
    main.log({"loss": 2.0}, step=0)
    main.finish()
    wait_until(
        lambda: httpx.get(f"{url}/api/v1/runs/finish-order").json()["status"] == "finished", 20, "finished"
    )
    assert raw_series(url, "finish-order", "rank/1/loss") == {0: 1.0}
    assert (
        raw_series(url, "finish-order", "loss") == {0: 2.0} == raw_series(url, "finish-order", "rank/0/loss")
    )


def test_a_heartbeat_asks_the_workers_for_a_diagnosis_pass(postgres_stack: tuple[str, str, Stack]) -> None:
    """A run whose agents only heartbeat (a hung job) still gets diagnosed: stalled_run needs
    a pass, and no batch will ask for one (ingest/service.py, request_diagnosis)."""
    from sqlalchemy import create_engine, text

    from gradsight.transport import wire
    from gradsight.transport.columns import Columns

    url, database_url, _ = postgres_stack
    create_run(url, "heartbeat-only")
    body = wire.encode(wire.document("heartbeat-only", "agent-1:hb", Columns()))
    response = httpx.post(
        f"{url}/api/v1/runs/heartbeat-only/batches",
        content=body,
        headers={"Content-Type": wire.CONTENT_TYPE, "Content-Encoding": "gzip"},
    )
    assert response.status_code == 202 and response.json()["status"] == "heartbeat"
    engine = create_engine(database_url)
    query = text(
        "SELECT d.passes FROM diagnosis_state d JOIN runs r ON r.pk = d.run_pk WHERE r.id = 'heartbeat-only'"
    )

    def passed() -> bool:
        with engine.connect() as conn:
            return bool(conn.execute(query).scalar())

    try:
        wait_until(passed, 30, "a diagnosis pass of the heartbeat-only run", interval=0.3)
    finally:
        engine.dispose()

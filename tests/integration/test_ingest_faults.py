"""Faults on the self-hosted pipeline (agent → HTTP → Redis → Celery → PostgreSQL), injected by
really stopping, killing and restarting processes. Each test trains a real model, then counts
points end to end: everything the agent built is stored, and stored exactly once (checked
in the segments table itself, where a duplicate could not hide)."""

from __future__ import annotations

import math
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy.engine import make_url

import gradsight
from gradsight.transport import wire
from gradsight.transport.spool import RunSpool
from gradsight_server.ingest.celery_app import APPLY_TASK, make_celery
from gradsight_server.settings import Settings
from tests.integration.conftest import (
    assert_exactly_once,
    created_on_server,
    new_run,
    train_paced,
    train_through,
)
from tests.support.api import get_run, raw_series
from tests.support.databases import set_database_reachable
from tests.support.embedded import sync
from tests.support.procs import REPO, free_port, wait_until
from tests.support.sse import EventStream
from tests.support.stack import Stack, connect
from tests.support.store import ledger_states, stored_points

SPOOL = "GRADSIGHT_SPOOL_DIR"


def test_api_server_stopped_mid_run_then_restarted(services: Stack, fast_agent: None) -> None:
    run = new_run(services, "api-restart")

    def outage() -> None:
        services.stop_api()
        time.sleep(2.5)
        services.start_api()

    losses = train_through(run, outage)
    stats = run._sender.stats
    assert stats.failed_sends > 0 and stats.batches_spooled > 0, "the outage was ridden out on disk"
    assert_exactly_once(services, run, losses)
    assert not Path(run._sender.spool_path).exists(), "a delivered spool is cleaned up"


def _hold_latest_values(stack: Stack, run_id: str):  # type: ignore[no-untyped-def]
    """Lock the run's latest-value rows, which only workers write: a worker applying a batch
    then blocks inside its transaction (segments written, latest values next), holding its
    task message unacknowledged, while the API goes on accepting batches."""
    wait_until(
        lambda: (
            connect(stack.database_url)
            .execute(
                "SELECT count(*) FROM latest_values l JOIN runs r ON r.pk = l.run_pk WHERE r.id = %s",
                (run_id,),
            )
            .fetchone()[0]
            > 0
        ),
        20,
        "a first batch applied",
    )
    conn = connect(stack.database_url)
    conn.autocommit = False
    conn.execute(
        "SELECT 1 FROM latest_values WHERE run_pk = (SELECT pk FROM runs WHERE id = %s) FOR UPDATE", (run_id,)
    )
    return conn


def held_batches(client: redis.Redis) -> int:
    """Apply tasks delivered to a worker and not acknowledged (kombu's ``unacked`` hash)."""
    return sum(APPLY_TASK.encode() in message for message in client.hvals("unacked"))


def test_worker_killed_while_holding_batches_then_restarted(services: Stack, fast_agent: None) -> None:
    run = new_run(services, "worker-kill")
    redis_client = services.redis_client()
    held: dict[str, int] = {}

    def kill_while_holding() -> None:
        lock = _hold_latest_values(services, run.id)
        try:
            wait_until(lambda: held_batches(redis_client) > 0, 20, "workers to hold batches")
            time.sleep(0.5)
            held["messages"] = held_batches(redis_client)
            services.kill_workers()  # SIGKILL the whole worker: parent and pool processes
        finally:
            lock.rollback()
            lock.close()
        time.sleep(1.0)
        services.start_worker()

    losses = train_through(run, kill_while_holding, start_s=1.0)
    assert held["messages"] > 0
    assert run._sender.stats.failed_sends == 0, "the API kept accepting while no worker ran"
    assert_exactly_once(services, run, losses)


def test_redis_down_mid_run_batches_stay_staged_then_arrive(services: Stack, fast_agent: None) -> None:
    """Redis down is not a reason to refuse data: batches are durable in the database (202),
    wait there, and are queued again once Redis is back (docs/adr/0002-ingest-pipeline.md)."""
    run = new_run(services, "redis-restart")
    created_on_server(services, run)
    stream = EventStream(f"{services.url}/api/v1/runs/{run.id}/stream")  # live updates survive too
    waiting: dict[str, int] = {}

    def outage() -> None:
        services.stop_redis()
        wait_until(
            lambda: ledger_states(services.database_url, run.id).get("staged", 0) >= 3, 20, "staged batches"
        )
        waiting["staged"] = ledger_states(services.database_url, run.id)["staged"]
        time.sleep(1.0)
        services.start_redis()

    losses = train_through(run, outage)
    assert waiting["staged"] >= 3
    assert run._sender.stats.failed_sends == 0, "every batch was answered 2xx while Redis was down"
    assert_exactly_once(services, run, losses)
    last = get_run(services.url, run.id)["last_step"]
    assert stream.until(lambda e: e.data == {"last_step": last}, timeout=30)


def test_the_same_batch_delivered_many_times_is_stored_once(
    services: Stack, fast_agent: None, tmp_path: Path
) -> None:
    run = gradsight.init(project="faults", name="redelivery", server=services.url, mode="offline")
    losses = train_paced(run, 120, pace_s=0.0)
    run.finish()
    stats = run._sender.stats
    spool = RunSpool(Path(os.environ[SPOOL]), run.id)
    bodies = [path.read_bytes() for path in spool.batches()]
    assert len(bodies) == stats.batches_built
    run_body = spool.read_run()
    assert httpx.post(f"{services.url}/api/v1/runs", json=run_body).status_code == 201

    # Every batch three times, from eight threads at once, in random order.
    deliveries = [body for body in bodies for _ in range(3)]
    random.Random(0).shuffle(deliveries)
    with httpx.Client(base_url=services.url, headers=wire_headers()) as client, ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda b: client.post(f"/api/v1/runs/{run.id}/batches", content=b), deliveries)
        )
    assert {a.status_code for a in answers} == {202}
    statuses = [a.json()["status"] for a in answers]
    assert statuses.count("accepted") == len(bodies) and statuses.count("duplicate") == 2 * len(bodies)
    assert sum(a.json()["inserted"] for a in answers) == stats.points_built
    assert sum(a.json()["duplicates"] for a in answers) == 2 * stats.points_built

    # The spool uploaded once more: every batch is a duplicate, and the files are removed.
    synced = sync(spool.path, services.url, "--retry-for", "30")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert f"{len(bodies)} batch(es) the server already had" in synced.stdout
    assert not spool.path.exists()

    # Queue messages redelivered to the workers (as after a worker crash): no-ops.
    wait_until(
        lambda: ledger_states(services.database_url, run.id) == {"applied": len(bodies)}, 60, "applied"
    )
    with connect(services.database_url) as conn:
        pks = [
            pk
            for (pk,) in conn.execute(
                "SELECT b.pk FROM ingest_batches b JOIN runs r ON r.pk = b.run_pk WHERE r.id = %s", (run.id,)
            )
        ]
    celery = make_celery(Settings(redis_url=services.redis.url))
    for pk in pks * 2:
        celery.send_task(APPLY_TASK, args=[pk])
    wait_until(
        lambda: services.worker_log().count("already applied") >= 2 * len(pks), 60, "redelivered tasks to run"
    )
    assert_exactly_once(services, run, losses, batches=stats.batches_built, points=stats.points_built)


def wire_headers() -> dict[str, str]:
    return {"Content-Type": wire.CONTENT_TYPE, "Content-Encoding": "gzip"}


def test_training_process_killed_then_its_spool_synced(services: Stack, tmp_path: Path) -> None:
    """Killed with SIGKILL while the server is away: the spool holds everything but the last
    flush interval (the default, 1 s), and ``gradsight sync`` delivers it exactly once."""
    run_id = f"killed-{uuid.uuid4().hex[:12]}"
    journal = tmp_path / "journal.txt"
    env = {
        **os.environ,
        "GRADSIGHT_URL": services.url,
        "GRADSIGHT_RETRY_MAX_S": "0.5",
        "PYTHONPATH": str(REPO),
    }
    env.pop("GRADSIGHT_FLUSH_INTERVAL_S", None)  # the default interval is what is promised
    trainer = subprocess.Popen(
        [sys.executable, "-m", "tests.support.journaled_training", str(journal), run_id],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: journal.exists() and len(journal.read_text().splitlines()) > 40, 60, "training to start"
        )
        time.sleep(1.5)  # some batches reach the server
        services.stop_api()
        time.sleep(3.0)  # the rest goes to the spool
        killed_at = time.time()
        trainer.send_signal(signal.SIGKILL)
        trainer.wait(10)
    finally:
        if trainer.poll() is None:
            trainer.kill()
    services.start_api()
    logged = {
        int(s): (float(v), float(t))
        for s, v, t in (line.split() for line in journal.read_text().splitlines())
    }
    spool = RunSpool(Path(os.environ[SPOOL]), run_id)
    assert spool.batches(), "the outage left batches in the spool"

    synced = sync(spool.path, services.url, "--retry-for", "30")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert not spool.path.exists()
    wait_until(
        lambda: ledger_states(services.database_url, run_id).keys() == {"applied"}, 60, "batches applied"
    )
    stored = raw_series(services.url, run_id, "loss")
    assert sorted(stored) == list(range(len(stored))), "no gap: the spool kept order and nothing in between"
    assert all(math.isclose(stored[s], logged[s][0], rel_tol=1e-6) for s in stored)
    lost = [s for s in logged if s not in stored]
    # At most the steps since the last flush (1 s) and the write in progress then; 1 s of slack
    # for a busy 2-core machine delaying the agent's thread.
    assert all(logged[s][1] > killed_at - 1.0 - 1.0 for s in lost), "lost more than the last flush interval"
    for key, (total, distinct) in stored_points(services.database_url, run_id).items():
        assert total == distinct, key
    assert get_run(services.url, run_id)["status"] == "running"  # killed: becomes crashed when stale


@pytest.mark.parametrize("how", ["offline", "unreachable"])
def test_server_unreachable_for_the_whole_run_then_synced(
    services: Stack, fast_agent: None, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if how == "offline":
        run = gradsight.init(project="faults", name="offline", server=services.url, mode="offline")
    else:
        closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        run = gradsight.init(project="faults", name="unreachable", server=closed)
    losses = train_paced(run, 150, pace_s=0.0)
    run.finish(timeout=1.0)
    stats = run._sender.stats
    assert stats.points_sent == 0 and stats.points_dropped == 0
    spool = RunSpool(Path(os.environ[SPOOL]), run.id)
    assert len(spool.batches()) == stats.batches_built
    synced = sync(spool.path, services.url, "--retry-for", "30")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert f"{stats.batches_built} batch(es) uploaded ({stats.points_built:,} new points)" in synced.stdout
    assert_exactly_once(services, run, losses, batches=stats.batches_built, points=stats.points_built)


def test_database_down_mid_run_is_refused_with_503_then_everything_arrives(
    services: Stack, fast_agent: None
) -> None:
    """The one outage that makes the API refuse: it cannot make a batch durable, so it answers
    503 + Retry-After, the agent keeps the batches and sends them again."""
    run = new_run(services, "database-down")
    name = make_url(services.database_url).database
    assert name is not None

    def outage() -> None:
        set_database_reachable(name, False)
        try:
            time.sleep(3.0)
        finally:
            set_database_reachable(name, True)

    losses = train_through(run, outage)
    assert run._sender.stats.failed_sends > 0, "the agent was told to retry"
    assert_exactly_once(services, run, losses)

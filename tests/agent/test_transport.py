"""The agent's transport against a real embedded server it can lose: outages ridden out on
disk and replayed in order, a hung server, a full disk, refused batches. Training never
waits, and every point is either stored or counted as dropped."""

from __future__ import annotations

import contextlib
import gzip
import itertools
import math
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

import gradsight
from gradsight.transport.client import Backoff
from gradsight.transport.spool import RunSpool
from gradsight_server.wire.decode import decode_batch
from gradsight_server.wire.model import MSGPACK_TYPE, Batch
from tests.support.api import raw_series, wait_finished
from tests.support.embedded import Embedded, sync
from tests.support.procs import Server, wait_until
from tests.support.store import batch_ids, ledger_states, total_points
from tests.support.training import mlp, train

FAST = {"GRADSIGHT_FLUSH_INTERVAL_S": "0.1", "GRADSIGHT_RETRY_MAX_S": "0.3"}


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAST.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Embedded]:
    server = Embedded(tmp_path / "server")
    yield server
    server.stop()


def paced(run: gradsight.run.Run, steps: int, pace_s: float = 0.01) -> dict[int, float]:
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    run.watch(model, opt)
    return dict(enumerate(train(run, model, opt, steps, after_backward=lambda _: time.sleep(pace_s))))


def test_an_outage_is_ridden_out_on_disk_and_replayed_in_order(embedded: Embedded, fast: None) -> None:
    embedded.start()
    run = gradsight.init(project="transport", server=embedded.url)
    spool = RunSpool(Path(os.environ["GRADSIGHT_SPOOL_DIR"]), run.id)
    seen_on_disk: list[list[str]] = []

    def outage(step: int) -> None:
        time.sleep(0.02)
        if step == 60:
            embedded.stop()
        if 60 < step < 160 and step % 20 == 0:
            seen_on_disk.append([p.name for p in spool.batches()])
        if step == 160:
            embedded.start()

    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    run.watch(model, opt)
    losses = dict(enumerate(train(run, model, opt, 240, after_backward=outage)))
    run.finish()
    stats = run._sender.stats
    assert stats.failed_sends > 0 and stats.batches_spooled > 0
    assert any(seen_on_disk), "batches were spooled during the outage"
    assert all(names == sorted(names) for names in seen_on_disk)
    assert stats.points_sent == stats.points_built and stats.points_dropped == 0
    wait_finished(embedded.url, run.id)
    assert ledger_states(embedded.database_url, run.id) == {"applied": stats.batches_built}
    assert total_points(embedded.database_url, run.id) == stats.points_built
    sequence = [int(batch_id.rsplit(":", 1)[1]) for batch_id in batch_ids(embedded.database_url, run.id)]
    assert sequence == list(range(1, stats.batches_built + 1)), "the server received the batches in order"
    stored = raw_series(embedded.url, run.id, "loss")
    assert stored.keys() == losses.keys() and all(
        math.isclose(stored[s], losses[s], rel_tol=1e-6) for s in losses
    )
    assert not spool.path.exists(), "a delivered spool is removed"


def test_training_never_waits_for_a_server_that_hangs(fast: None) -> None:
    """A server that accepts connections and never answers holds each request for the
    client's 15 s timeout; the training loop must not notice, and what the uploader cannot
    deliver within a flush interval goes to the spool."""
    with socket.socket() as black_hole:
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(64)
        run = gradsight.init(project="transport", server=f"http://127.0.0.1:{black_hole.getsockname()[1]}")
        ticks = [time.monotonic()]

        def tick(_: int) -> None:
            ticks.append(time.monotonic())
            time.sleep(0.01)

        model = mlp()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        run.watch(model, opt)
        train(run, model, opt, 150, after_backward=tick)
        longest = max(b - a for a, b in itertools.pairwise(ticks))
        wait_until(lambda: run._sender.stats.batches_spooled > 0, 10, "batches to be spooled")
        run.finish(timeout=0.5)
    assert longest < 5.0, f"a training step waited {longest:.1f} s (a request to the hung server takes 15 s)"
    stats = run._sender.stats
    assert stats.points_dropped == 0
    assert len(RunSpool(Path(os.environ["GRADSIGHT_SPOOL_DIR"]), run.id).batches()) == stats.batches_built


def test_finish_is_bounded_then_the_spool_is_synced(
    embedded: Embedded, fast: None, caplog: pytest.LogCaptureFixture
) -> None:
    run = gradsight.init(project="transport", name="late", server=embedded.url)  # not started yet
    losses = paced(run, 40, pace_s=0.0)
    started = time.monotonic()
    run.finish(timeout=1.0)
    assert time.monotonic() - started < 10.0
    spool = RunSpool(Path(os.environ["GRADSIGHT_SPOOL_DIR"]), run.id)
    assert f"gradsight sync {spool.path}" in caplog.text
    assert len(spool.batches()) == run._sender.stats.batches_built

    embedded.start()
    first = sync(spool.path, embedded.url)
    assert first.returncode == 0, first.stdout + first.stderr
    assert not spool.path.exists()
    wait_finished(embedded.url, run.id)
    assert total_points(embedded.database_url, run.id) == run._sender.stats.points_built
    assert raw_series(embedded.url, run.id, "loss").keys() == losses.keys()


def test_a_resumed_run_sends_what_a_dead_process_left_in_the_spool_first(
    embedded: Embedded, fast: None
) -> None:
    dead = gradsight.init(project="transport", name="resumed", mode="offline")
    paced(dead, 30, pace_s=0.0)
    dead.finish()
    spool = RunSpool(Path(os.environ["GRADSIGHT_SPOOL_DIR"]), dead.id)
    spool.batches()[-1].unlink()  # the final batch: as if the process had been killed
    left = sum(decode(path).n_points for path in spool.batches())
    embedded.start()
    run = gradsight.init(project="transport", name="resumed", server=embedded.url, resume=dead.id)
    run.log({"after_resume": 1.0}, step=100)
    run.finish()
    wait_finished(embedded.url, run.id)
    assert total_points(embedded.database_url, run.id) == left + run._sender.stats.points_built
    ids = batch_ids(embedded.database_url, run.id)
    assert all(not i.startswith(run._sender._agent_id) for i in ids[:-1]), "the old batches went first"
    assert raw_series(embedded.url, run.id, "after_resume") == {100: 1.0}
    assert not spool.path.exists()


def decode(path: Path) -> Batch:
    return decode_batch(gzip.decompress(path.read_bytes()), MSGPACK_TYPE, max_points=10**9)


def test_batches_the_server_refuses_are_dropped_counted_and_reported(tmp_path: Path, fast: None) -> None:
    """4xx other than 408/429: never retried; counted in agent/dropped_points, which the next
    batch reports (ARCHITECTURE.md ⚑ Ingest semantics)."""
    env = {"GRADSIGHT_DATA_DIR": str(tmp_path / "data"), "GRADSIGHT_MAX_BATCH_POINTS": "100"}
    server = Server(env, tmp_path / "logs").wait_ready()
    try:
        run = gradsight.init(project="transport", server=server.url)
        run.log({"small": 0.0})  # step 0
        run.log({f"wide/{i}": float(i) for i in range(150)})  # step 1
        run.log({"small": 2.0})  # closes step 1: the next batch holds steps 0-1, 151 points, over the limit
        time.sleep(0.5)
        run.log({"small": 3.0})
        run.finish()
        stats = run._sender.stats
        assert stats.batches_dropped == 1 and stats.points_dropped == 151
        assert stats.failed_sends == 0, "a refused batch is not retried"
        wait_finished(server.url, run.id)
        assert max(raw_series(server.url, run.id, "agent/dropped_points").values()) == 151
        assert set(raw_series(server.url, run.id, "small")) == {2, 3}
    finally:
        server.stop()


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A directory on a tmpfs that is completely full: every write fails with ENOSPC."""
    mount = tmp_path / "full"
    mount.mkdir()
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    subprocess.run([*sudo, "mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], check=True)
    try:
        filler = (mount / "filler").open("wb")
        try:
            while True:
                filler.write(b"\0" * 4096)
                filler.flush()
        except OSError:  # ENOSPC: full
            pass
        with contextlib.suppress(OSError):
            filler.close()
        yield mount / "spool"
    finally:
        subprocess.run([*sudo, "umount", str(mount)], check=True)


def test_with_the_server_away_and_the_disk_full_the_agent_drops_counts_and_reports(
    embedded: Embedded, full_disk: Path, monkeypatch: pytest.MonkeyPatch, fast: None
) -> None:
    monkeypatch.setenv("GRADSIGHT_SPOOL_DIR", str(full_disk))
    monkeypatch.setenv("GRADSIGHT_MAX_BUFFER_BYTES", "20000")
    run = gradsight.init(project="transport", name="disk-full", server=embedded.url)
    paced(run, 200, pace_s=0.005)
    wait_until(lambda: run._sender.stats.points_dropped > 0, 10, "the buffer to overflow")
    embedded.start()
    run.log({"after": 1.0})
    run.finish()
    stats = run._sender.stats
    assert stats.batches_spooled == 0 and stats.points_dropped > 0
    assert stats.points_sent + stats.points_dropped == stats.points_built
    wait_finished(embedded.url, run.id)
    assert total_points(embedded.database_url, run.id) == stats.points_sent
    reported = raw_series(embedded.url, run.id, "agent/dropped_points")
    assert reported[max(reported)] == stats.points_dropped


def test_offline_mode_writes_only_the_spool(
    tmp_path: Path, fast: None, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        run = gradsight.init(
            project="transport",
            name="off",
            config={"lr": 0.1},
            server=f"http://127.0.0.1:{listener.getsockname()[1]}",
            mode="offline",
        )
        paced(run, 30, pace_s=0.0)
        run.finish()
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody ever connected
    spool = RunSpool(Path(os.environ["GRADSIGHT_SPOOL_DIR"]), run.id)
    assert (
        f"offline run {run.id} saved in {spool.path}; upload it with: gradsight sync {spool.path}"
        in caplog.text
    )
    body = spool.read_run()
    assert body is not None and body["project"] == "transport" and body["name"] == "off"
    assert body["config"] == {"lr": 0.1} and body["metadata"]["params"]["total"] > 0
    assert [p.name for p in spool.path.iterdir() if p.name.startswith(".")] == [], "no temporary files left"


def test_backoff_grows_with_jitter_up_to_its_cap_and_honours_retry_after() -> None:
    backoff = Backoff(base=0.5, cap=4.0)
    delays = [backoff.next_delay() for _ in range(8)]
    ceilings = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) > 1, "jittered"
    assert backoff.next_delay(hint=3.9) >= 3.9 and backoff.next_delay(hint=100) <= 4.0
    backoff.reset()
    assert backoff.next_delay() <= 0.5

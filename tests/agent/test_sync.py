"""``gradsight sync``, the real command, against a real embedded server: uploads in order,
deletes only what the server took, is harmless to repeat, and says what it did."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import gradsight
from gradsight.transport.spool import RunSpool
from tests.support.api import get_run, raw_series
from tests.support.embedded import Embedded, sync
from tests.support.procs import free_port
from tests.support.store import total_points


def offline_run(name: str, steps: int) -> tuple[gradsight.run.Run, RunSpool]:
    """An offline run of several batches: a flush every 20 ms, and a pause of five flush
    intervals after every quarter of the steps."""
    os.environ["GRADSIGHT_FLUSH_INTERVAL_S"] = "0.02"
    try:
        run = gradsight.init(project="sync", name=name, mode="offline")
    finally:
        del os.environ["GRADSIGHT_FLUSH_INTERVAL_S"]
    for step in range(steps):
        run.log({"loss": 1.0 / (step + 1), "acc": step / steps})
        if step % max(1, steps // 4) == 0:
            time.sleep(0.1)
    run.finish()
    assert run._sender.stats.batches_built > 2
    return run, RunSpool(Path(os.environ["GRADSIGHT_SPOOL_DIR"]), run.id)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Embedded]:
    embedded = Embedded(tmp_path_factory.mktemp("sync-server")).start()
    yield embedded
    embedded.stop()


def test_sync_uploads_a_run_then_a_second_sync_finds_nothing_to_do(server: Embedded) -> None:
    run, spool = offline_run("once", 50)
    first = sync(spool.path, server.url)
    assert first.returncode == 0, first.stderr
    points = run._sender.stats.points_built
    assert (
        f"run {run.id} (sync/once): {run._sender.stats.batches_built} batch(es) uploaded ({points:,} new points)"
        in first.stdout
    )
    assert not spool.path.exists()
    assert get_run(server.url, run.id)["status"] == "finished"
    assert len(raw_series(server.url, run.id, "loss")) == 50
    spool.path.mkdir(parents=True)  # an empty directory left behind: nothing to do
    again = sync(spool.path, server.url)
    assert again.returncode == 0 and "0 batch(es) uploaded, 0 rejected, 0 left" in again.stdout
    assert total_points(server.database_url, run.id) == points


def test_sync_of_a_spool_root_uploads_every_run(server: Embedded) -> None:
    a, _ = offline_run("root-a", 10)
    b, _ = offline_run("root-b", 20)
    root = Path(os.environ["GRADSIGHT_SPOOL_DIR"])
    done = sync(None, server.url)  # DIR defaults to GRADSIGHT_SPOOL_DIR
    assert done.returncode == 0, done.stderr
    assert f"2 run(s) in {root}" in done.stdout
    assert len(raw_series(server.url, a.id, "loss")) == 10 and len(raw_series(server.url, b.id, "loss")) == 20
    assert list(root.iterdir()) == []


def test_sync_keeps_every_file_while_the_server_is_unreachable(tmp_path: Path) -> None:
    _, spool = offline_run("unreachable", 10)
    before = sorted(p.name for p in spool.path.iterdir())
    result = sync(spool.path, f"http://127.0.0.1:{free_port()}", "--retry-for", "1")
    assert result.returncode == 1
    assert "left: the server is unavailable" in result.stdout and "again" in result.stderr
    assert sorted(p.name for p in spool.path.iterdir()) == before


def test_a_batch_the_server_refuses_is_set_aside_and_the_rest_uploaded(server: Embedded) -> None:
    run, spool = offline_run("refused", 20)
    files = spool.batches()
    files[0].write_bytes(b"this is not gzip")
    result = sync(spool.path, server.url)
    assert result.returncode == 1
    assert "1 rejected (kept as *.rejected)" in result.stdout and "(400)" in result.stdout
    assert [p.name for p in spool.path.iterdir() if p.suffix == ".rejected"] == [files[0].name + ".rejected"]
    assert spool.batches() == []
    assert get_run(server.url, run.id)["status"] == "finished"


def test_sync_refuses_what_is_not_a_spool_or_a_server(tmp_path: Path) -> None:
    missing = sync(tmp_path / "nope", "http://127.0.0.1:9")
    assert missing.returncode == 2 and "is not a directory" in missing.stderr
    bad_url = sync(tmp_path, "ftp://nowhere")
    assert bad_url.returncode == 2 and "http(s)" in bad_url.stderr

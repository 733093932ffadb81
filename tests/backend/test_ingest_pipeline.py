"""What happens around a batch in the embedded server: the live event stream (read by a real
HTTP client from a real server process), debounced diagnosis requests, and the answer when
the database is down (503 + Retry-After, never a 2xx for a batch it might lose)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from gradsight_server.api.app import create_app
from gradsight_server.ingest.queue import InProcessQueue
from gradsight_server.settings import Settings
from gradsight_server.store import diagnoses, runs
from tests.backend.conftest import batch
from tests.support.databases import fresh_database, set_database_reachable
from tests.support.embedded import Embedded
from tests.support.procs import Server, wait_until
from tests.support.sse import EventStream


def steps_block(first: int, n: int) -> list[dict[str, object]]:
    return [{"keys": ["loss"], "steps": list(range(first, first + n)), "values": [[1.0] * n]}]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Embedded]:
    embedded = Embedded(tmp_path_factory.mktemp("stream")).start()
    yield embedded
    embedded.stop()


def test_the_stream_announces_each_new_last_step(server: Embedded) -> None:
    base = f"{server.url}/api/v1"
    httpx.post(f"{base}/runs", json={"id": "live", "project": "p"}).raise_for_status()
    stream = EventStream(f"{base}/runs/live/stream")
    assert stream.status == 200 and stream.headers is not None
    assert stream.headers["content-type"].startswith("text/event-stream")
    for i in range(5):
        body = batch("live", f"s:{i}", steps_block(10 * i, 10))
        assert httpx.post(f"{base}/runs/live/batches", json=body).status_code == 202
    events = stream.until(lambda e: e.data == {"last_step": 49}, timeout=20)
    assert {e.name for e in events} == {"steps"}
    steps = [e.data["last_step"] for e in events]
    assert steps == sorted(set(steps)), "each announced once, in increasing order"
    late = EventStream(f"{base}/runs/live/stream")  # a client connecting later gets the state at once
    assert late.until(lambda e: True, timeout=10)[0].data == {"last_step": 49}


def test_a_stream_of_an_unknown_run_is_404(server: Embedded) -> None:
    response = httpx.get(f"{server.url}/api/v1/runs/nobody/stream")
    assert response.status_code == 404 and "nobody" in response.json()["detail"]


def test_open_streams_do_not_hold_up_a_server_stop(tmp_path: Path) -> None:
    srv = Server({"GRADSIGHT_DATA_DIR": str(tmp_path / "data")}, tmp_path / "logs").wait_ready()
    try:
        httpx.post(f"{srv.url}/api/v1/runs", json={"id": "held", "project": "p"}).raise_for_status()
        stream = EventStream(f"{srv.url}/api/v1/runs/held/stream")
        assert stream.status == 200
        started = time.monotonic()
        srv.popen.send_signal(signal.SIGTERM)
        srv.popen.wait(30)
        assert time.monotonic() - started < 8, "uvicorn's graceful timeout (10 s) was not needed"
        assert stream.ended(5)
    finally:
        srv.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def debounced(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    def app(url: str) -> TestClient:
        settings = Settings(
            database_url=url,
            data_dir=tmp_path_factory.mktemp("data"),
            diagnosis_debounce_s=0.5,
            maintenance_interval_s=3600,
        )
        return TestClient(create_app(settings))

    if request.param == "sqlite":
        with app(f"sqlite:///{tmp_path_factory.mktemp('db') / 'g.db'}") as client:
            yield client
        return
    with fresh_database() as url, app(url) as client:
        yield client


def test_a_busy_run_asks_for_a_bounded_number_of_diagnosis_passes(debounced: TestClient) -> None:
    """30 batches in ~3 s with a 0.5 s window: a handful of passes, not 30, and the last pass
    saw the last batch."""
    client = debounced
    client.post("/api/v1/runs", json={"id": "busy", "project": "p"}).raise_for_status()
    started = time.monotonic()
    for i in range(30):
        assert (
            client.post(
                "/api/v1/runs/busy/batches", json=batch("busy", f"b:{i}", steps_block(i, 1))
            ).status_code
            == 202
        )
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    context = client.app.state.context  # type: ignore[attr-defined]
    assert isinstance(context.queue, InProcessQueue)
    context.queue.join()

    def state() -> tuple[int, int | None]:
        with context.db.session() as session:
            run = runs.get(session, "busy")
            assert run is not None
            found = diagnoses.state_of(session, run.pk)
            return (found.passes, found.last_step) if found is not None else (0, None)

    wait_until(lambda: state()[1] == 29, 10, "a pass over the last batch")
    time.sleep(1.0)  # the window after the last request: nothing more is pending
    passes, last_step = state()
    assert last_step == 29
    assert 1 < passes <= elapsed / 0.5 + 2, passes


@pytest.fixture
def pg_client(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    with fresh_database() as url:
        settings = Settings(database_url=url, data_dir=tmp_path, maintenance_interval_s=3600)
        with TestClient(create_app(settings)) as client:
            yield client, url.rsplit("/", 1)[1]


def test_a_database_outage_is_503_with_retry_after_and_nothing_is_lost(
    pg_client: tuple[TestClient, str],
) -> None:
    client, name = pg_client
    client.post("/api/v1/runs", json={"id": "db-down", "project": "p"}).raise_for_status()
    body = batch("db-down", "d:1", steps_block(0, 5))
    set_database_reachable(name, False)
    try:
        refused = client.post("/api/v1/runs/db-down/batches", json=body)
        assert refused.status_code == 503 and int(refused.headers["retry-after"]) > 0
        assert "database unavailable" in refused.json()["detail"]
        assert client.post("/api/v1/runs", json={"id": "other", "project": "p"}).status_code == 503
    finally:
        set_database_reachable(name, True)
    accepted = client.post("/api/v1/runs/db-down/batches", json=body)  # the agent's retry
    assert accepted.status_code == 202 and accepted.json()["status"] == "accepted"
    client.app.state.context.queue.join()  # type: ignore[attr-defined]
    series = client.get("/api/v1/runs/db-down/series", params={"keys": "loss"}).json()["series"][0]
    assert series["step"] == [0, 1, 2, 3, 4]

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gradsight_server.api.app import create_app
from gradsight_server.ingest.queue import InProcessQueue
from gradsight_server.settings import Settings
from tests.support.databases import fresh_database


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'gradsight.db'}"
    else:
        with fresh_database() as url:
            yield url


class Api:
    """The real app over a real database, driven in-process through its ASGI interface."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    @property
    def context(self) -> Any:
        return self.client.app.state.context  # type: ignore[attr-defined]

    def settle(self) -> None:
        """Wait until every accepted batch has been applied."""
        queue = self.context.queue
        assert isinstance(queue, InProcessQueue)
        queue.join()

    def create_run(self, run_id: str, project: str = "proj", **extra: Any) -> dict[str, Any]:
        response = self.client.post("/api/v1/runs", json={"id": run_id, "project": project, **extra})
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result

    def post_batch(self, run_id: str, body: dict[str, Any]) -> Any:
        return self.client.post(f"/api/v1/runs/{run_id}/batches", json=body)

    def series(self, run_id: str, keys: str, **params: Any) -> list[dict[str, Any]]:
        response = self.client.get(f"/api/v1/runs/{run_id}/series", params={"keys": keys, **params})
        assert response.status_code == 200, response.text
        result: list[dict[str, Any]] = response.json()["series"]
        return result

    def snapshot(self) -> Any:
        """Everything readable through the API, to prove a rejected request changed nothing."""
        runs = self.client.get("/api/v1/runs", params={"limit": 500}).json()["items"]
        state = []
        for run in runs:
            keys = self.client.get(f"/api/v1/runs/{run['id']}/keys").json()["items"]
            series = self.series(run["id"], ",".join(keys)) if keys else []
            state.append((run, keys, series))
        return state


@pytest.fixture(scope="module")
def api(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path_factory.mktemp("data"),
        max_batch_bytes=1_000_000,
        max_batch_points=50_000,
        maintenance_interval_s=3600,
        compact_after_s=0,  # tests compact what they just wrote (ingest.maintenance.compact_pending)
    )
    with TestClient(create_app(settings)) as client:
        yield Api(client)


def batch(run_id: str, batch_id: str, blocks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"v": 1, "run_id": run_id, "batch_id": batch_id, "blocks": blocks, **extra}

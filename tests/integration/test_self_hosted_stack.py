"""The docker-compose stack, started natively: the same commands and environment as
docker-compose.yml, with the service hosts pointed at a private Redis (append-only, as in
compose) and a fresh database on the machine's PostgreSQL. A real training run goes in
through the API, a real Celery worker applies it, and the data comes back out."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import torch

import gradsight
from tests.support import compose
from tests.support.api import raw_series, wait_finished
from tests.support.databases import fresh_database
from tests.support.procs import BIN, Proc, Server, free_port
from tests.support.redis import RedisServer, run_cli
from tests.support.training import mlp, train


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    base = tmp_path_factory.mktemp("stack")
    logs = base / "logs"
    redis_server = RedisServer(base / "redis", logs).wait_ready()
    procs: list[Proc] = [redis_server]
    try:
        with fresh_database("gradsight_stack") as database_url:
            local = {"GRADSIGHT_DATABASE_URL": database_url, "GRADSIGHT_REDIS_URL": redis_server.url}

            def env_of(service: str) -> dict[str, str]:
                return {**compose.service_env(service), **local, "GRADSIGHT_DATA_DIR": str(base / service)}

            migrate = compose.service_command("migrate")
            run_cli([str(BIN / migrate[0]), *migrate[1:]], env_of("migrate"))
            worker = compose.service_command("worker")
            procs.append(
                Proc(
                    "worker",
                    [str(BIN / worker[0]), *worker[1:], "--hostname", f"w{free_port()}@%h"],
                    env_of("worker"),
                    logs,
                )
            )
            api_cmd = compose.service_command("api")
            assert api_cmd[1:4] == ["serve", "--host", "0.0.0.0"]
            api = Server(env_of("api"), logs, name="api")  # serve on a free loopback port
            procs.append(api)
            api.wait_ready()
            yield {"url": api.url, "logs": str(logs)}
    finally:
        for proc in reversed(procs):
            proc.stop()


def test_training_through_api_redis_celery_postgresql(stack: dict[str, str]) -> None:
    health = httpx.get(f"{stack['url']}/api/v1/health").json()
    assert health["queue"] == "celery" and health["store"] == "postgresql"
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    run = gradsight.init(project="stack", name="through-celery", server=stack["url"])
    run.watch(model, opt)
    expected = dict(enumerate(train(run, model, opt, 30)))
    run.finish()
    wait_finished(stack["url"], run.id, timeout=60)
    got = raw_series(stack["url"], run.id, "loss")
    assert sorted(got) == list(range(30))
    assert all(math.isclose(got[s], expected[s], rel_tol=1e-6) for s in range(30))
    assert len(raw_series(stack["url"], run.id, "grad_norm")) == 30
    worker_log = Path(stack["logs"], "worker.log").read_text()
    assert "gradsight.ingest.apply" in worker_log and "applied" in worker_log

"""The docker-compose stack, started natively: the same commands and environment as
docker-compose.yml, with the service hosts pointed at a private Redis (append-only, as in
compose) and a fresh database on the machine's PostgreSQL. Accounts are bootstrapped with
the CLI as docs/self-hosting.md says (create-admin, create-project, create-key); a real
training run goes in through the API with an ingest key, a real Celery worker applies and
diagnoses it, the data and diagnoses come back out with a read key, and the worker sends the
project's alert webhook to a local receiver."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import torch

import gradsight
from tests.scenarios.library import BY_NAME
from tests.support import compose
from tests.support.api import raw_series, wait_finished
from tests.support.databases import fresh_database
from tests.support.procs import BIN, Proc, Server, free_port, wait_until
from tests.support.receiver import Receiver
from tests.support.redis import RedisServer, run_cli
from tests.support.training import mlp, train

ADMIN_PASSWORD = "stack admin password"


def cli(env: dict[str, str], *args: str, **extra: str) -> str:
    return run_cli([str(BIN / "gradsight-server"), *args], {**env, **extra}).stdout.strip()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    base = tmp_path_factory.mktemp("stack")
    logs = base / "logs"
    redis_server = RedisServer(base / "redis", logs).wait_ready()
    procs: list[Proc] = [redis_server]
    try:
        with fresh_database("gradsight_stack") as database_url:
            local = {
                "GRADSIGHT_DATABASE_URL": database_url,
                "GRADSIGHT_REDIS_URL": redis_server.url,
                # Test-only: alerts go to a receiver on loopback, diagnosis runs every second.
                "GRADSIGHT_WEBHOOK_ALLOW_PRIVATE": "true",
                "GRADSIGHT_DIAGNOSIS_DEBOUNCE_S": "1",
            }

            def env_of(service: str) -> dict[str, str]:
                return {**compose.service_env(service), **local, "GRADSIGHT_DATA_DIR": str(base / service)}

            migrate = compose.service_command("migrate")
            run_cli([str(BIN / migrate[0]), *migrate[1:]], env_of("migrate"))
            # The first sign-in, a project and its keys, as docs/self-hosting.md does them
            # (`docker compose run --rm api gradsight-server …`).
            admin_env = env_of("api")
            cli(admin_env, "create-admin", "admin", GRADSIGHT_NEW_PASSWORD=ADMIN_PASSWORD)
            cli(admin_env, "create-project", "stack", "--owner", "admin")
            ingest_key = cli(admin_env, "create-key", "--project", "stack", "--scope", "ingest")
            read_key = cli(admin_env, "create-key", "--project", "stack", "--scope", "read")
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
            yield {"url": api.url, "logs": str(logs), "ingest_key": ingest_key, "read_key": read_key}
    finally:
        for proc in reversed(procs):
            proc.stop()


def test_training_through_api_redis_celery_postgresql(stack: dict[str, str]) -> None:
    health = httpx.get(f"{stack['url']}/api/v1/health").json()
    assert health["queue"] == "celery" and health["store"] == "postgresql"
    assert httpx.get(f"{stack['url']}/api/v1/runs").status_code == 401  # compose requires auth
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    run = gradsight.init(
        project="stack", name="through-celery", server=stack["url"], api_key=stack["ingest_key"]
    )
    run.watch(model, opt)
    expected = dict(enumerate(train(run, model, opt, 30)))
    run.finish()
    reader = {"Authorization": f"Bearer {stack['read_key']}"}
    wait_finished(stack["url"], run.id, timeout=60, headers=reader)
    got = raw_series(stack["url"], run.id, "loss", headers=reader)
    assert sorted(got) == list(range(30))
    assert all(math.isclose(got[s], expected[s], rel_tol=1e-6) for s in range(30))
    assert len(raw_series(stack["url"], run.id, "grad_norm", headers=reader)) == 30
    worker_log = Path(stack["logs"], "worker.log").read_text()
    assert "gradsight.ingest.apply" in worker_log and "applied" in worker_log


def test_diagnoses_arrive_and_the_worker_sends_the_alert(stack: dict[str, str], receiver: Receiver) -> None:
    url = stack["url"]
    admin = httpx.Client(base_url=url, timeout=30)
    signed_in = admin.post("/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert signed_in.status_code == 200
    admin.headers["X-CSRF-Token"] = signed_in.json()["csrf_token"]
    hook = admin.post(
        "/api/v1/projects/stack/webhooks",
        json={"name": "team chat", "url": f"{receiver.url}/hook", "kind": "slack", "min_severity": "warning"},
    )
    assert hook.status_code == 201, hook.text

    run = gradsight.init(project="stack", name="nan-record", server=url, api_key=stack["ingest_key"])
    BY_NAME["nan_record"].train(run)  # a NaN record reaches the model at step 300
    run.finish()
    reader = {"Authorization": f"Bearer {stack['read_key']}"}
    wait_finished(url, run.id, timeout=120, headers=reader)

    def alarms() -> list[dict[str, object]]:
        items = httpx.get(f"{url}/api/v1/runs/{run.id}/diagnoses", headers=reader, timeout=10).json()["items"]
        return [d for d in items if d["severity"] in ("warning", "critical") and d["status"] == "open"]

    wait_until(lambda: bool(alarms()), 120, "a diagnosis of the NaN run")

    def deliveries() -> list[dict[str, object]]:
        path = f"/api/v1/projects/stack/webhooks/{hook.json()['id']}/deliveries"
        items: list[dict[str, object]] = admin.get(path).json()["items"]
        return items

    wait_until(
        lambda: bool(deliveries()) and {d["state"] for d in deliveries()} == {"delivered"},
        60,
        "every alert delivered",
    )
    assert {d["run_id"] for d in deliveries()} == {run.id}
    assert len(receiver.received) == len(deliveries())  # once per diagnosis, no duplicates
    texts = " ".join(r.json()["text"] for r in receiver.received)
    assert "nan-record" in texts and all(str(d["rule"]) in texts for d in deliveries())
    worker_log = Path(stack["logs"], "worker.log").read_text()
    assert "gradsight.alerts.deliver" in worker_log and "delivered to" in worker_log
    assert "/hook" not in worker_log  # the destination's path is never logged


def test_an_agent_without_a_key_is_refused_and_training_goes_on(
    stack: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    run = gradsight.init(project="stack", name="no-key", server=stack["url"])
    run.watch(model, opt)
    losses = train(run, model, opt, 10)
    run.finish(timeout=10)
    assert len(losses) == 10
    refusals = [r for r in caplog.records if "refused run" in r.getMessage()]
    assert len(refusals) == 1 and "401" in refusals[0].getMessage()
    reader = {"Authorization": f"Bearer {stack['read_key']}"}
    assert httpx.get(f"{stack['url']}/api/v1/runs/{run.id}", headers=reader).status_code == 404

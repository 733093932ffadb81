"""Secrets never reach a log: a real server process logging at DEBUG with its access log on,
accounts made with the real CLI, a real agent training with a key. Afterwards no password
(right or wrong), API key, session token or CSRF token appears in the server's log, the
CLI's diagnostics or the agent's log."""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import httpx
import pytest
import torch

import gradsight
from tests.support.procs import BIN, Server, wait_until
from tests.support.redis import run_cli
from tests.support.training import mlp, train

PASSWORD = "admin-password-f00dface"
WRONG = "wrong-password-deadbeef"


def test_no_secret_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    env = {
        "GRADSIGHT_DATA_DIR": str(tmp_path / "data"),
        "GRADSIGHT_AUTH": "required",
        "GRADSIGHT_LOG_LEVEL": "DEBUG",
    }
    done = subprocess.run(
        [str(BIN / "gradsight-server"), "create-admin", "admin", "--password-stdin"],
        input=PASSWORD + "\n",
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    cli_output = done.stdout + done.stderr
    run_cli([str(BIN / "gradsight-server"), "create-project", "secret-proj"], env)
    server = Server(env, tmp_path / "logs", extra_args=("--access-log",)).wait_ready()
    try:
        client = httpx.Client(base_url=server.url, timeout=30)
        assert (
            client.post("/api/v1/auth/login", json={"username": "admin", "password": WRONG}).status_code
            == 401
        )
        login = client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        assert login.status_code == 200
        session, csrf = login.cookies["gradsight_session"], login.json()["csrf_token"]
        client.headers["X-CSRF-Token"] = csrf
        key = client.post(
            "/api/v1/projects/secret-proj/keys", json={"name": "agent", "scope": "ingest"}
        ).json()["key"]
        bogus = "gsk_" + "Z" * 43
        assert (
            httpx.get(f"{server.url}/api/v1/runs", headers={"Authorization": f"Bearer {bogus}"}).status_code
            == 401
        )
        model = mlp()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        run = gradsight.init(project="secret-proj", name="keyed", server=server.url, api_key=key)
        run.watch(model, opt)
        train(run, model, opt, 5)
        run.finish()
        # finish() returns once the final batch is accepted (202); applying it follows.
        wait_until(
            lambda: client.get(f"/api/v1/runs/{run.id}").json()["status"] == "finished",
            30,
            "the keyed run to be finished",
        )
        assert client.post("/api/v1/auth/logout").status_code == 204
    finally:
        server.stop()
    server_log = server.log_path.read_text()
    assert "POST /api/v1/auth/login" in server_log and "/batches" in server_log  # the access log is on
    agent_log = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("gradsight"))
    for secret in (PASSWORD, WRONG, session, csrf, bogus, key.removeprefix("gsk_")):
        for name, text in (("server", server_log), ("cli", cli_output), ("agent", agent_log)):
            assert secret not in text, f"a secret appears in the {name} log"

"""A server that requires sign-in, in a real browser: the login form, a wrong password, the
runs of the user's project after signing in (sent by an agent with an API key), sign-out."""

from __future__ import annotations

from pathlib import Path

import torch
from playwright.sync_api import Browser, expect

import gradsight
from tests.e2e.conftest import DIST
from tests.support.procs import BIN, Server
from tests.support.redis import run_cli
from tests.support.training import mlp, train

PASSWORD = "e2e password 1"


def test_sign_in_see_runs_and_sign_out(browser: Browser, tmp_path: Path, test_output: Path) -> None:
    env = {
        "GRADSIGHT_DATA_DIR": str(tmp_path / "data"),
        "GRADSIGHT_STATIC_DIR": str(DIST),
        "GRADSIGHT_AUTH": "required",
    }
    cli = str(BIN / "gradsight-server")
    run_cli([cli, "create-admin", "ada"], {**env, "GRADSIGHT_NEW_PASSWORD": PASSWORD})
    run_cli([cli, "create-project", "vision", "--owner", "ada"], env)
    key = run_cli([cli, "create-key", "--project", "vision"], env).stdout.strip()
    server = Server(env, tmp_path / "logs").wait_ready()
    try:
        model = mlp()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        run = gradsight.init(project="vision", name="keyed-run", server=server.url, api_key=key)
        run.watch(model, opt)
        train(run, model, opt, 20)
        run.finish()

        page = browser.new_page(viewport={"width": 1280, "height": 800})
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on(
            "console",
            lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None,
        )
        page.goto(server.url + "/")
        form = page.get_by_role("form", name="Sign in")
        expect(form).to_be_visible(timeout=15_000)
        page.screenshot(path=str(test_output / "login.png"))

        page.get_by_label("User name").fill("ada")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("wrong user name or password")

        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        row = page.locator(f'[data-testid="run-row"][data-run-id="{run.id}"]')
        expect(row).to_be_visible(timeout=15_000)
        expect(page.locator(".user-menu")).to_contain_text("ada")
        page.screenshot(path=str(test_output / "signed-in.png"))
        cookies = {c["name"]: c for c in page.context.cookies()}
        assert cookies["gradsight_session"]["httpOnly"] and cookies["gradsight_session"]["sameSite"] == "Lax"

        page.get_by_role("button", name="Sign out").click()
        expect(form).to_be_visible(timeout=15_000)
        page.reload()
        expect(page.get_by_role("form", name="Sign in")).to_be_visible(timeout=15_000)
        assert not problems, problems
    finally:
        server.stop()

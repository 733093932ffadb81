from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.support.procs import REPO, Server

CHROMIUM = Path("/usr/bin/chromium")
DIST = REPO / "frontend" / "dist"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # Debian's Chromium, never a downloaded one (`make test` installs the package).
    assert CHROMIUM.exists(), "Chromium is missing: run `make test` (apt-get install -y chromium)"
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def dashboard_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    assert (DIST / "index.html").exists(), "the dashboard is not built: run `make test` (npm run build)"
    base = tmp_path_factory.mktemp("e2e")
    env = {
        "GRADSIGHT_DATA_DIR": str(base / "data"),
        "GRADSIGHT_STATIC_DIR": str(DIST),
        "GRADSIGHT_DIAGNOSIS_DEBOUNCE_S": "0.5",  # diagnoses within a second of the data
    }
    server = Server(env, base / "logs").wait_ready()
    yield server
    server.stop()

"""Every code block of docs/quickstart.md runs (the issue: "a test checks that every code block
in the quickstart runs").

- ``make`` lines name targets the Makefile defines (running them would rebuild the world).
- ``pip install`` lines name paths and files that exist (installing is what this test's own
  environment already did, from the same paths).
- ``gradsight-server serve …`` is started for real, on a free port; every other shell line
  runs for real, with ``localhost:8000`` pointed at that server.
- Python blocks run for real against it, in order, and their run must arrive.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.api import diagnosed_up_to, raw_series, wait_finished
from tests.support.procs import BIN, REPO, Server, free_port, wait_until

QUICKSTART = REPO / "docs" / "quickstart.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks() -> list[tuple[str, str]]:
    return [(lang, body) for lang, body in FENCE.findall(QUICKSTART.read_text())]


def make_targets() -> set[str]:
    text = (REPO / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w.-]*):", text, re.MULTILINE))


def check_pip(argv: list[str]) -> None:
    args = argv[argv.index("install") + 1 :]
    for flag, value in zip(args, [*args[1:], ""], strict=True):
        if flag == "-e":
            assert (REPO / value / "pyproject.toml").exists(), f"pip install -e {value}: no such package"
        if flag in ("-r", "-c"):
            assert (REPO / value).exists(), f"pip {flag} {value}: no such file"


@pytest.fixture
def server_for_docs(tmp_path: Path) -> Iterator[dict[str, Server | None]]:
    holder: dict[str, Server | None] = {"server": None}
    yield holder
    if holder["server"] is not None:
        holder["server"].stop()


def test_every_quickstart_block_runs(tmp_path: Path, server_for_docs: dict[str, Server | None]) -> None:
    found = blocks()
    assert {lang for lang, _ in found} == {"bash", "python"}, "a block without a known language"
    targets = make_targets()
    url = ""
    ran_python = 0
    for lang, body in found:
        if lang == "python":
            assert url, "a Python block before the server is started"
            script = tmp_path / f"block{ran_python}.py"
            script.write_text(body)
            result = subprocess.run(
                [sys.executable, str(script)],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
                env={**os.environ, "GRADSIGHT_URL": url},
            )
            assert result.returncode == 0, result.stderr
            ran_python += 1
            continue
        for line in body.splitlines():
            command = line.split("#", 1)[0].strip()
            if not command:
                continue
            argv = shlex.split(command)
            if argv[0] == "make":
                missing = set(argv[1:]) - targets
                assert not missing, f"`{command}`: the Makefile has no target {missing}"
            elif "pip" in Path(argv[0]).name and "install" in argv:
                check_pip(argv)
            elif argv[:2] == ["gradsight-server", "serve"]:
                assert "--port" in argv, "the quickstart's server command names its port"
                server = Server(
                    {"GRADSIGHT_DATA_DIR": str(tmp_path / "data")}, tmp_path / "logs", port=free_port()
                )
                server_for_docs["server"] = server.wait_ready()
                help_text = subprocess.run(
                    [str(BIN / "gradsight-server"), "serve", "--help"],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                assert all(flag in help_text for flag in argv[2:] if flag.startswith("--"))
                url = server.url
            else:
                assert url, f"`{command}` before the server is started"
                shell = command.replace("http://localhost:8000", url)
                result = subprocess.run(
                    ["bash", "-c", shell], capture_output=True, text=True, timeout=60, check=False
                )
                assert result.returncode == 0, f"`{command}` failed: {result.stderr}"
    assert ran_python >= 1

    # The first run arrived, whole, and the server found nothing wrong with it.
    runs = httpx.get(f"{url}/api/v1/runs", params={"project": "quickstart"}, timeout=10).json()["items"]
    assert [r["name"] for r in runs] == ["first-run"]
    run = wait_finished(url, runs[0]["id"])
    assert sorted(raw_series(url, run["id"], "loss")) == list(range(300))
    assert sorted(raw_series(url, run["id"], "grad_norm")) == list(range(300))
    db = tmp_path / "data" / "gradsight.db"
    wait_until(lambda: (diagnosed_up_to(db, run["id"]) or 0) >= 299, 60, "the diagnosis of the whole run")
    diagnoses = httpx.get(f"{url}/api/v1/runs/{run['id']}/diagnoses", timeout=10).json()["items"]
    assert not [d for d in diagnoses if d["severity"] != "info"], diagnoses

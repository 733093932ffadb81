from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.procs import REPO

OUTPUT = Path(os.environ.get("GRADSIGHT_TEST_OUTPUT", REPO / "test-output"))


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT


@pytest.fixture
def test_output(output_dir: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A directory for this test's artifacts (logs, screenshots), kept after the run."""
    path = output_dir / request.node.nodeid.replace("/", "_").replace("::", "__").replace(".py", "")
    path.mkdir(parents=True, exist_ok=True)
    yield path


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the developer's ~/.gradsight or a stray GRADSIGHT_* variable."""
    for name in list(os.environ):
        if name.startswith("GRADSIGHT_") and not name.startswith("GRADSIGHT_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GRADSIGHT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GRADSIGHT_SPOOL_DIR", str(tmp_path / "spool"))

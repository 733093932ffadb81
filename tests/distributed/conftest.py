from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.procs import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """A real embedded server; short debounce, and a 3 s stall floor so a hung job is
    diagnosed within the test (production default 300 s)."""
    base = tmp_path_factory.mktemp("distributed")
    env = {
        "GRADSIGHT_DATA_DIR": str(base / "data"),
        "GRADSIGHT_DIAGNOSIS_DEBOUNCE_S": "0.5",
        "GRADSIGHT_STALL_AFTER_S": "3",
    }
    srv = Server(env, base / "logs").wait_ready()
    yield srv, base / "data" / "gradsight.db"
    srv.stop()

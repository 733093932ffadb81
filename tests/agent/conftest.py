from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.procs import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real embedded server (SQLite, in-process queue) in its own process."""
    base = tmp_path_factory.mktemp("agent-server")
    srv = Server({"GRADSIGHT_DATA_DIR": str(base / "data")}, base / "logs").wait_ready()
    yield srv
    srv.stop()

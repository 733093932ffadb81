from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.embedded import Embedded


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Embedded]:
    """A real embedded server (SQLite, in-process queue) in its own process."""
    embedded = Embedded(tmp_path_factory.mktemp("integrations-server")).start()
    yield embedded
    embedded.stop()

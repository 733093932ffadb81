from __future__ import annotations

import pytest

from gradsight_server.diagnosis.signals import RunData
from tests.scenarios.library import Scenario
from tests.scenarios.offline import run_offline

_CACHE: dict[str, RunData] = {}


@pytest.fixture
def trained() -> object:
    """Train a scenario once per session (real agent, offline spool) and return its data."""

    def get(scenario: Scenario) -> RunData:
        if scenario.name not in _CACHE:
            _CACHE[scenario.name] = run_offline(scenario)
        return _CACHE[scenario.name]

    return get

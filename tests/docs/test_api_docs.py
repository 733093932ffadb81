"""docs/api.md is generated from the server's OpenAPI schema and must match it."""

from __future__ import annotations

import subprocess
import sys

from tests.support.procs import REPO


def test_committed_api_reference_matches_the_openapi_schema() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_api_docs.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_route_is_documented() -> None:
    from gradsight_server.api.app import create_app
    from gradsight_server.settings import Settings

    text = (REPO / "docs" / "api.md").read_text()
    schema = create_app(Settings()).openapi()
    for path, item in schema["paths"].items():
        for method in item:
            assert f"### `{method.upper()} {path}`" in text

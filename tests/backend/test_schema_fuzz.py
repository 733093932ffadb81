"""Fuzz every operation of the published OpenAPI schema with schemathesis, authentication on:
whatever the generator sends, the server never answers 5xx, and every answer conforms to the
schema (status codes, bodies, content types). Signed in as a server administrator (every
route reachable), on PostgreSQL, through the real app. Bounded: a few dozen examples per
operation, about a minute in all.

``GET /runs/{run_id}/stream`` is left out: an event stream does not end, and the fuzzer waits
for whole answers. tests/backend/test_ingest_pipeline.py drives it."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.engine import make_url

from gradsight_server.api.app import create_app
from gradsight_server.auth import service
from gradsight_server.settings import Settings
from tests.support.databases import ADMIN_URL, admin_connect

ADMIN, PASSWORD = "fuzz-admin-7q", "fuzzing password 7q"
EXAMPLES = 50


# The app and its database's name exist at import, so schemathesis can read the schema while
# collecting; the database itself is created, and the app started, by the fixture below.
DATABASE = f"gradsight_fuzz_{uuid.uuid4().hex[:10]}"
DATABASE_URL = make_url(ADMIN_URL).set(database=DATABASE, drivername="postgresql+psycopg")
APP = create_app(
    Settings(
        database_url=DATABASE_URL.render_as_string(hide_password=False),
        data_dir=Path(tempfile.mkdtemp(prefix="gradsight-fuzz-")),
        auth="required",
        maintenance_interval_s=3600,
        login_rate_limit_per_min=1000,
        max_batch_bytes=1_000_000,
        max_batch_points=50_000,
    )
)
# from_asgi would start the app (its lifespan) to read the schema; read it directly instead.
_loaded = schemathesis.openapi.from_dict(APP.openapi())
_loaded.app = APP
schema = _loaded.exclude(path_regex=r"/stream$")


@pytest.fixture(scope="module")
def headers() -> Iterator[dict[str, str]]:
    """Starts the app (its lifespan) over a new database; a server administrator's session."""
    with admin_connect() as conn:
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    try:
        with TestClient(APP, base_url="http://127.0.0.1") as client:
            db = APP.state.context.db
            service.create_user(db, ADMIN, PASSWORD, admin=True)
            service.create_project(db, "fuzz")
            login = client.post("/api/v1/auth/login", json={"username": ADMIN, "password": PASSWORD})
            assert login.status_code == 200
            yield {
                "Cookie": f"gradsight_session={login.cookies['gradsight_session']}",
                "X-CSRF-Token": login.json()["csrf_token"],
            }
    finally:
        with admin_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_no_input_causes_a_5xx_or_an_off_schema_answer(case: Any, headers: dict[str, str]) -> None:
    if case.path == "/api/v1/users/{username}" and case.method == "DELETE":
        case.path_parameters = {**(case.path_parameters or {}), "username": "not-" + ADMIN}
    if case.path == "/api/v1/users/{username}/password":
        case.path_parameters = {**(case.path_parameters or {}), "username": "not-" + ADMIN}
    if case.path == "/api/v1/auth/logout":
        return  # would end the fuzzer's own session
    if case.headers:  # a generated Authorization header would take precedence over the session
        case.headers.pop("Authorization", None)
    case.call_and_validate(
        headers=headers,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )


def test_the_schema_declares_its_authentication(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        document = client.get("/api/v1/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiKey"]["scheme"] == "bearer" and schemes["session"]["in"] == "cookie"

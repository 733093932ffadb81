"""Hostile input against the real app (local mode, the API fixture of conftest.py, on SQLite and
PostgreSQL): every attempt gets a clear 4xx naming the problem, never a 5xx, and changes
nothing stored; the dashboard's static files cannot be escaped; security headers are set."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.backend.conftest import Api, batch

INJECTIONS = [
    "' OR '1'='1",
    "run'); DROP TABLE runs; --",
    '" OR 1=1 --',
    "%",
    "_",
    "\\",
    "${jndi:ldap://x}",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "😀 ünïcødé",
]


@pytest.fixture(scope="module")
def seeded(api: Api) -> Iterator[Api]:
    api.create_run("hostile-1", project="hostile", name="victim")
    body = batch("hostile-1", "h:1", [{"keys": ["loss"], "steps": [0, 1], "values": [[1.0, 2.0]]}])
    assert api.post_batch("hostile-1", body).status_code == 202
    api.settle()
    yield api


def assert_clean_4xx(response: Any) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.json()["detail"], response.text


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_in_query_parameters_is_only_data(seeded: Api, text: str) -> None:
    before = seeded.snapshot()
    for params in ({"q": text}, {"project": text}, {"q": text, "project": text, "status": "running"}):
        response = seeded.client.get("/api/v1/runs", params=params)
        assert response.status_code == 200, response.text
        assert response.json()["total"] == 0  # "%" and "_" are literal characters, not wildcards
    series = seeded.client.get("/api/v1/runs/hostile-1/series", params={"keys": f"loss,{text}"})
    assert series.status_code == 200
    assert [s["key"] for s in series.json()["series"] if s["step"]] == ["loss"]
    assert seeded.snapshot() == before


def test_injection_in_metric_names_is_stored_literally(seeded: Api) -> None:
    names = [n for n in INJECTIONS if not n.startswith(("_", "\\"))] + ["a\\b"]
    body = batch(
        "hostile-1",
        "h:names",
        [{"keys": names, "steps": [5], "values": [[float(i)] for i in range(len(names))]}],
    )
    assert seeded.post_batch("hostile-1", body).status_code == 202
    seeded.settle()
    keys = seeded.client.get("/api/v1/runs/hostile-1/keys").json()["items"]
    assert set(names) <= set(keys)
    for i, name in enumerate(names):
        (entry,) = seeded.series("hostile-1", name)
        assert entry["key"] == name and entry["last"] == [float(i)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "a\x00b"}, "q"),
        ({"project": "x" * 129}, "project"),
        ({"status": "running' --"}, "status"),
        ({"limit": "-1"}, "limit"),
        ({"offset": "1e400"}, "offset"),
    ],
)
def test_invalid_query_parameters_name_the_field(seeded: Api, params: dict[str, str], field: str) -> None:
    response = seeded.client.get("/api/v1/runs", params=params)
    assert response.status_code == 422
    assert any(field in err["loc"] for err in response.json()["detail"])


def test_oversized_bodies_are_413_before_they_are_read(seeded: Api) -> None:
    before = seeded.snapshot()
    big = b'{"id": "big", "project": "p", "config": {"x": "' + b"a" * 3_000_000 + b'"}}'
    declared = seeded.client.post("/api/v1/runs", content=big, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413 and "larger than" in declared.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while it streams
        yield big[:1_000_000]
        yield big[1_000_000:]

    streamed = seeded.client.post(
        "/api/v1/runs", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
    bogus = seeded.client.post(
        "/api/v1/runs", content=b"{}", headers={"Content-Type": "application/json", "Content-Length": "-5"}
    )
    assert bogus.status_code in (400, 413)
    assert seeded.snapshot() == before


@pytest.mark.parametrize("depth", [40, 5_000, 200_000])
def test_deeply_nested_json_is_refused(seeded: Api, depth: int) -> None:
    before = seeded.snapshot()
    nested = "[" * depth + "]" * depth
    body = '{"id": "deep", "project": "p", "config": {"x": ' + nested + "}}"
    response = seeded.client.post("/api/v1/runs", content=body, headers={"Content-Type": "application/json"})
    assert_clean_4xx(response)
    as_batch = '{"v": 1, "run_id": "hostile-1", "batch_id": "deep", "blocks": ' + nested + "}"
    response = seeded.client.post(
        "/api/v1/runs/hostile-1/batches", content=as_batch, headers={"Content-Type": "application/json"}
    )
    assert_clean_4xx(response)
    assert seeded.snapshot() == before


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "bad-utf8", "project": "\xff\xfe"}',
        b'{"id": "bad-utf8", "project": "\xc3\x28"}',
        b"\xff\xfe\x00{\x00}",
        b'{"id": "bad-utf8", "project": "\xed\xa0\x80"}',  # an encoded surrogate
        b"\x00\x00\x00\x00",
    ],
)
def test_non_utf8_bodies_are_refused(seeded: Api, body: bytes) -> None:
    before = seeded.snapshot()
    response = seeded.client.post("/api/v1/runs", content=body, headers={"Content-Type": "application/json"})
    assert_clean_4xx(response)
    response = seeded.client.post(
        "/api/v1/runs/hostile-1/batches", content=body, headers={"Content-Type": "application/json"}
    )
    assert_clean_4xx(response)
    assert seeded.snapshot() == before


@pytest.mark.parametrize(
    "path",
    [
        "/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/..%2f..%2f..%2fetc%2fpasswd",
        "/assets/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/%252e%252e/etc/passwd",
        "/....//....//etc/passwd",
        "/assets/%00index.html",
        "/%5c..%5c..%5cetc%5cpasswd",
    ],
)
def test_static_files_cannot_be_escaped(seeded: Api, path: str) -> None:
    response = seeded.client.get(path)
    assert response.status_code < 500
    assert "root:" not in response.text
    if response.status_code == 200:  # the dashboard's index.html (client-side routes), nothing else
        assert response.headers["content-type"].startswith("text/html")


def test_security_headers_on_the_dashboard_and_the_api(seeded: Api) -> None:
    page = seeded.client.get("/runs/anything")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff" and page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "same-origin"
    api = seeded.client.get("/api/v1/runs")
    assert (
        api.headers["Cache-Control"] == "no-store"
        and "default-src 'none'" in api.headers["Content-Security-Policy"]
    )
    assert api.headers["X-Content-Type-Options"] == "nosniff"


def test_cross_site_writes_are_refused_even_in_local_mode(seeded: Api) -> None:
    before = seeded.snapshot()
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
    ):
        response = seeded.client.post("/api/v1/runs/hostile-1/finish", headers=headers)
        assert response.status_code == 403, response.text
        response = seeded.client.delete("/api/v1/runs/hostile-1", headers=headers)
        assert response.status_code == 403
    # Reads are not refused by this guard (without CORS headers the page cannot read the answer).
    same = seeded.client.get(
        "/api/v1/runs/hostile-1", headers={"Origin": "https://evil.example", "Host": "127.0.0.1"}
    )
    assert same.status_code == 200
    assert seeded.snapshot() == before


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b'{"id": "x", "project": "p"}'),
        ("application/x-www-form-urlencoded", b"id=x&project=p"),
    ],
)
def test_form_posts_cannot_create_runs(seeded: Api, content_type: str, body: bytes) -> None:
    """A cross-site HTML form can send these content types without a preflight."""
    before = seeded.snapshot()
    response = seeded.client.post("/api/v1/runs", content=body, headers={"Content-Type": content_type})
    assert_clean_4xx(response)
    assert seeded.snapshot() == before

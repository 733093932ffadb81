"""Sign-in, sessions, keys and their limits, through the real app over a real database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gradsight_server.store import accounts
from tests.support.tenants import PASSWORD, Caller, Tenants, tenant_server


@pytest.fixture(scope="module")
def tenants(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenants]:
    with tenant_server(database_url, tmp_path_factory.mktemp("data"), login_rate_limit_per_min=5) as t:
        yield t


def test_login_sets_an_httponly_lax_session_and_a_csrf_cookie(tenants: Tenants) -> None:
    caller = Caller(tenants.app, "alice-browser")
    response = caller.post("/api/v1/auth/login", json={"username": "Alice", "password": PASSWORD})
    assert response.status_code == 200
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("gradsight_session="))
    csrf = next(c for c in cookies if c.startswith("gradsight_csrf="))
    assert "HttpOnly" in session and "SameSite=lax" in session and "Path=/" in session
    assert "HttpOnly" not in csrf and "SameSite=strict" in csrf
    assert "Secure" not in session  # plain http: a Secure cookie would never come back
    body = response.json()
    assert body["user"]["username"] == "alice" and csrf.split(";")[0].split("=", 1)[1] == body["csrf_token"]
    me = caller.get("/api/v1/auth/me").json()
    assert me["user"]["username"] == "alice" and me["csrf_token"] == body["csrf_token"]
    # Only the token's hash is stored.
    token = session.split(";")[0].split("=", 1)[1]
    with tenants.db.session() as s:
        assert accounts.live_session(s, token) is None
    caller.client.headers["X-CSRF-Token"] = body["csrf_token"]
    assert caller.post("/api/v1/auth/logout").status_code == 204
    assert caller.get("/api/v1/auth/me").status_code == 401
    # A stolen copy of the cookie is dead too.
    stale = Caller(tenants.app, "thief")
    stale.client.cookies.set("gradsight_session", token)
    assert stale.get("/api/v1/runs").status_code == 401


def test_wrong_passwords_are_401_then_rate_limited(tenants: Tenants) -> None:
    root = tenants.caller("root")
    assert root.post("/api/v1/users", json={"username": "eve", "password": PASSWORD}).status_code == 201
    caller = Caller(tenants.app, "guesser")
    statuses = [
        caller.post("/api/v1/auth/login", json={"username": "eve", "password": f"guess-{i}"}).status_code
        for i in range(7)
    ]
    assert statuses[:5] == [401] * 5 and statuses[5:] == [429, 429]
    limited = caller.post("/api/v1/auth/login", json={"username": "eve", "password": PASSWORD})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    unknown = caller.post("/api/v1/auth/login", json={"username": "nobody-here", "password": "x"})
    assert unknown.status_code in (401, 429)  # the same answer as a wrong password


def test_a_key_is_shown_once_listed_by_prefix_and_dead_once_revoked(tenants: Tenants) -> None:
    alice = tenants.caller("alice")
    created = alice.post("/api/v1/projects/proj-a/keys", json={"name": "ci", "scope": "read"})
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("gsk_") and created.json()["prefix"] == key[:10]
    listed = alice.get("/api/v1/projects/proj-a/keys").json()["items"]
    assert key not in str(listed) and any(k["id"] == created.json()["id"] for k in listed)
    user = Caller(tenants.app, "ci", key=key)
    assert user.get("/api/v1/runs/run-a").status_code == 200
    revoked = alice.request("DELETE", f"/api/v1/projects/proj-a/keys/{created.json()['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    response = user.get("/api/v1/runs/run-a")
    assert response.status_code == 401 and "revoked" in response.json()["detail"]


def test_each_key_has_its_own_rate_limit(tenants: Tenants) -> None:
    alice = tenants.caller("alice")
    key = alice.post(
        "/api/v1/projects/proj-a/keys", json={"name": "tight", "scope": "read", "rate_limit_per_min": 3}
    )
    caller = Caller(tenants.app, "tight", key=key.json()["key"])
    statuses = [caller.get("/api/v1/runs/run-a").status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:]
    other = tenants.caller("key:proj-a:read")  # another key is not affected
    assert other.get("/api/v1/runs/run-a").status_code == 200


@pytest.mark.parametrize(
    "header",
    ["Basic YWxpY2U6cGFzcw==", "Bearer", "Bearer " + "x" * 600, "Bearer gsk_not-a-real-key", "Token abc"],
)
def test_malformed_or_unknown_credentials_are_401(tenants: Tenants, header: str) -> None:
    caller = Caller(tenants.app, "odd")
    caller.client.headers["Authorization"] = header
    response = caller.get("/api/v1/runs")
    assert response.status_code == 401 and response.json()["detail"]


def test_passwords_change_and_end_every_session(tenants: Tenants) -> None:
    carol = Caller(tenants.app, "carol-2").login("carol")
    too_short = carol.request("PUT", "/api/v1/users/carol/password", json={"password": "short"})
    assert too_short.status_code == 422 and too_short.json()["detail"][0]["loc"] == ["body", "password"]
    assert (
        carol.request("PUT", "/api/v1/users/alice/password", json={"password": "a new password"}).status_code
        == 403
    )
    assert (
        carol.request("PUT", "/api/v1/users/carol/password", json={"password": "a new password"}).status_code
        == 204
    )
    assert carol.get("/api/v1/auth/me").status_code == 401
    Caller(tenants.app, "carol-3").login("carol", "a new password")
    tenants.callers.pop("carol", None)
    root = tenants.caller("root")
    assert root.request("PUT", "/api/v1/users/carol/password", json={"password": PASSWORD}).status_code == 204


def test_users_are_managed_by_server_admins(tenants: Tenants) -> None:
    root = tenants.caller("root")
    made = root.post("/api/v1/users", json={"username": "Dave", "password": "dave's password"})
    assert made.status_code == 201 and made.json() == {**made.json(), "username": "dave", "admin": False}
    assert root.post("/api/v1/users", json={"username": "dave", "password": "another one"}).status_code == 409
    assert root.request("DELETE", "/api/v1/users/root").status_code == 422  # not yourself
    assert root.request("DELETE", "/api/v1/users/dave").status_code == 204
    assert root.request("DELETE", "/api/v1/users/dave").status_code == 404

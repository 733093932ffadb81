"""Authorization, route by route. Every /api/v1 route must declare a Policy; then, for every
route the app has (including ones added after this test was written), callers of project B
try it on project A's run, project, key and webhook, and must get nothing: a refusal, or an
answer that names nothing of A, and A's stored state unchanged.

A route added later with a path parameter, a required query parameter or a body this test
does not know fails here until an example is added below: it cannot skip the check."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts

from gradsight_server.api.access import Policy, Public
from gradsight_server.api.app import API_PREFIX, create_app
from gradsight_server.settings import Settings
from tests.support.tenants import Tenants, tenant_server

# Values for path parameters, filled with project A's things.
PATH_VALUES = {
    "run_id": lambda t: "run-a",
    "project": lambda t: "proj-a",
    "key_id": lambda t: t.ids["proj-a:ingest"],
    "webhook_id": lambda t: t.ids["proj-a:webhook"],
    "username": lambda t: "alice",
}
# Required query parameters (optional ones are left out).
QUERY_VALUES = {
    "keys": "loss",
    "runs": "run-a",
    "family": "grad_norm/",
    "format": "csv",
}
# Bodies aimed at project A, by (method, path).
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/runs"): {"id": "run-a", "project": "proj-a", "config": {"hijacked": True}},
    ("POST", "/runs/{run_id}/batches"): {
        "v": 1,
        "run_id": "run-a",
        "batch_id": "intruder:1",
        "blocks": [{"keys": ["loss"], "steps": [7], "values": [[666.0]]}],
    },
    ("POST", "/auth/login"): {"username": "alice", "password": "not her password"},
    ("POST", "/projects"): {"name": "proj-a"},
    ("PUT", "/projects/{project}/members/{username}"): {"role": "viewer"},
    ("POST", "/projects/{project}/keys"): {"name": "stolen", "scope": "read"},
    ("POST", "/projects/{project}/webhooks"): {"name": "exfil", "url": "https://evil.example.com/x"},
    ("POST", "/users"): {"username": "mallory", "password": "mallory-password"},
    ("PUT", "/users/{username}/password"): {"password": "owned-by-mallory"},
}
INTRUDERS = ("bob", "key:proj-b:ingest", "key:proj-b:read")
A_NAMES = ("run-a", "proj-a", "alice", "carol", "chat.example.com")


def api_routes() -> list[tuple[str, str, Any]]:
    app = create_app(Settings())
    found = []
    for context in iter_route_contexts(app.routes):
        path = context.path or ""
        if not path.startswith(API_PREFIX) or path == f"{API_PREFIX}/openapi.json":
            continue
        for method in sorted(context.methods or ()):
            if method != "HEAD":
                found.append((method, path.removeprefix(API_PREFIX), context))
    return found


ROUTES = api_routes()


def policies(context: Any) -> list[Policy]:
    found: list[Policy] = []
    stack = [context.dependant]
    while stack:
        dependant = stack.pop()
        for dep in dependant.dependencies:
            if isinstance(dep.call, Policy):
                found.append(dep.call)
            stack.append(dep)
    return found


def test_routes_are_found() -> None:
    paths = {(m, p) for m, p, _ in ROUTES}
    assert ("GET", "/runs/{run_id}/series") in paths and ("POST", "/runs/{run_id}/batches") in paths
    assert len(paths) >= 25


@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p, _ in ROUTES])
def test_every_route_declares_exactly_one_policy(method: str, path: str) -> None:
    context = next(c for m, p, c in ROUTES if (m, p) == (method, path))
    declared = policies(context)
    assert len(declared) == 1, (
        f"{method} {path} declares {[p.describe() for p in declared]}: depend on exactly one "
        "gradsight_server.api.access Policy (Public, Authenticated, ServerAdmin, OnRun, OnProject, InProjects)"
    )


@pytest.fixture(scope="module")
def tenants(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenants]:
    with tenant_server(database_url, tmp_path_factory.mktemp("data")) as t:
        yield t


def flat(context: Any, attribute: str) -> list[Any]:
    """The route's parameters of one kind, its dependencies' included."""
    out, stack = [], [context.dependant]
    while stack:
        dependant = stack.pop()
        out.extend(getattr(dependant, attribute))
        stack.extend(dependant.dependencies)
    return list({p.name: p for p in out}.values())


def path_params(context: Any) -> list[Any]:
    return flat(context, "path_params")


def request_for(t: Tenants, method: str, path: str, context: Any) -> dict[str, Any]:
    url = path
    for param in path_params(context):
        assert param.name in PATH_VALUES, f"{method} {path}: add an example for path parameter {param.name!r}"
        url = url.replace("{" + param.name + "}", str(PATH_VALUES[param.name](t)))
    query = {}
    for param in flat(context, "query_params"):
        if param.field_info.is_required():
            assert param.name in QUERY_VALUES, (
                f"{method} {path}: add a value for query parameter {param.name!r}"
            )
            query[param.name] = QUERY_VALUES[param.name]
    kwargs: dict[str, Any] = {"params": query}
    if context.dependant.body_params or (method, path) in BODIES:
        assert (method, path) in BODIES, f"{method} {path}: add an example body aimed at project A"
        kwargs["json"] = BODIES[(method, path)]
    if path.endswith("/stream"):
        kwargs["headers"] = {"Accept": "text/event-stream"}
    return {"method": method, "url": API_PREFIX + url, **kwargs}


def state_of_a(t: Tenants) -> Any:
    """Everything of project A, read by the server administrator."""
    root = t.caller("root")
    t.settle()
    reads = [
        "/api/v1/runs/run-a",
        "/api/v1/runs/run-a/keys",
        "/api/v1/runs/run-a/series?keys=loss,grad_norm",
        "/api/v1/projects/proj-a/members",
        "/api/v1/projects/proj-a/keys",
        "/api/v1/projects/proj-a/webhooks",
        "/api/v1/users",
    ]
    state = []
    for url in reads:
        response = root.get(url)
        assert response.status_code == 200, (url, response.text)
        body = response.json()
        if isinstance(body, dict):
            body.pop("updated_at", None)
            for item in body.get("items", []):
                if isinstance(item, dict):
                    item.pop("last_used_at", None)
        state.append(body)
    return state


def test_project_b_can_read_or_change_nothing_of_project_a(tenants: Tenants) -> None:
    before = state_of_a(tenants)
    problems = []
    for method, path, context in ROUTES:
        if isinstance(policies(context)[0], Public):
            continue  # nothing behind it (health, sign-in); the sign-in attempt still runs below
        for who in INTRUDERS:
            spec = request_for(tenants, method, path, context)
            if path.endswith("/stream"):
                # An open stream would not end: a refusal comes back before it starts.
                with tenants.caller(who).client.stream(**spec) as response:
                    status, text = (
                        response.status_code,
                        "" if response.status_code == 200 else response.read().decode(),
                    )
            else:
                response = tenants.caller(who).request(**spec)
                status, text = response.status_code, response.text
            if status < 300:
                leaked = [name for name in A_NAMES if name in text]
                if leaked or path.endswith("/stream"):
                    problems.append(f"{who}: {method} {path} → {status} showing {leaked}: {text[:200]}")
            elif status not in (401, 403, 404):
                problems.append(f"{who}: {method} {path} → {status} (expected 401/403/404): {text[:200]}")
    assert not problems, "\n".join(problems)
    tenants.callers.clear()  # POST /auth/logout signed the intruders out: sign in afresh
    assert state_of_a(tenants) == before


def test_project_a_callers_get_the_same_requests_answered(tenants: Tenants) -> None:
    """The control: the requests above are valid, so B's refusals are authorization."""
    alice = tenants.caller("alice")
    for method, path, context in ROUTES:
        if method != "GET" or path.endswith("/stream"):
            continue
        spec = request_for(tenants, method, path, context)
        if path.startswith("/users"):
            alice = tenants.caller("root")
        response = alice.request(**spec)
        assert response.status_code == 200, (method, path, response.text)
        alice = tenants.caller("alice")


def test_every_protected_route_needs_credentials(tenants: Tenants) -> None:
    anonymous = tenants.caller("anonymous")
    for method, path, context in ROUTES:
        spec = request_for(tenants, method, path, context)
        if isinstance(policies(context)[0], Public):
            continue
        response = anonymous.request(**spec)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_lists_show_only_the_callers_projects(tenants: Tenants) -> None:
    bob = tenants.caller("bob").get("/api/v1/runs").json()
    assert [r["id"] for r in bob["items"]] == ["run-b"] and bob["total"] == 1
    assert tenants.caller("bob").get("/api/v1/runs", params={"project": "proj-a"}).json()["total"] == 0
    assert [p["name"] for p in tenants.caller("bob").get("/api/v1/projects").json()["items"]] == ["proj-b"]
    carol = tenants.caller("carol").get("/api/v1/auth/me").json()
    assert carol["projects"] == [
        {"name": "proj-a", "role": "viewer", "created_at": carol["projects"][0]["created_at"]}
    ]
    root = tenants.caller("root").get("/api/v1/runs").json()
    assert {r["id"] for r in root["items"]} >= {"run-a", "run-b"}
    read_key = tenants.caller("key:proj-a:read").get("/api/v1/runs").json()
    assert {r["project"] for r in read_key["items"]} == {"proj-a"}


def test_a_run_id_taken_in_another_project_does_not_name_it(tenants: Tenants) -> None:
    response = tenants.caller("key:proj-b:ingest").post(
        "/api/v1/runs", json={"id": "run-a", "project": "proj-b"}
    )
    assert response.status_code == 409
    assert "proj-a" not in response.text and "another project" in response.json()["detail"]


def test_roles_and_scopes(tenants: Tenants) -> None:
    carol = tenants.caller("carol")  # viewer of A
    assert carol.get("/api/v1/runs/run-a/series", params={"keys": "loss"}).status_code == 200
    assert carol.request("DELETE", "/api/v1/runs/run-a").status_code == 403
    assert carol.post("/api/v1/runs/run-a/finish").status_code == 403
    assert carol.post("/api/v1/projects/proj-a/keys", json={"name": "k", "scope": "read"}).status_code == 403
    ingest = tenants.caller("key:proj-a:ingest")
    assert ingest.get("/api/v1/runs/run-a").status_code == 403  # sees it exists (its own), may not read
    assert ingest.get("/api/v1/runs").json() == {"items": [], "total": 0}
    assert ingest.get("/api/v1/projects/proj-a/keys").status_code == 403
    read = tenants.caller("key:proj-a:read")
    assert read.get("/api/v1/runs/run-a/diagnoses").status_code == 200
    assert read.post("/api/v1/runs/run-a/finish").status_code == 403
    assert read.post("/api/v1/runs", json={"id": "new-run", "project": "proj-a"}).status_code == 403
    assert tenants.caller("alice").post("/api/v1/projects", json={"name": "mine"}).status_code == 403


def test_session_writes_need_the_csrf_token(tenants: Tenants) -> None:
    alice = tenants.caller("alice")
    token = alice.client.headers.pop("X-CSRF-Token")
    try:
        response = alice.post("/api/v1/runs/run-a/finish")
        assert response.status_code == 403 and "X-CSRF-Token" in response.json()["detail"]
        alice.client.headers["X-CSRF-Token"] = "forged"
        assert alice.post("/api/v1/runs/run-a/finish").status_code == 403
        assert alice.get("/api/v1/runs/run-a").json()["status"] == "running"
    finally:
        alice.client.headers["X-CSRF-Token"] = token


def json_body(response: Any) -> Any:
    return json.loads(response.text)


def test_members_can_be_managed_by_project_admins_only(tenants: Tenants) -> None:
    alice = tenants.caller("alice")
    assert (
        alice.request("PUT", "/api/v1/projects/proj-a/members/bob", json={"role": "viewer"}).status_code
        == 200
    )
    try:
        assert "run-a" in tenants.caller("bob").get("/api/v1/runs").text
        assert (
            tenants.caller("bob")
            .request("PUT", "/api/v1/projects/proj-a/members/bob", json={"role": "admin"})
            .status_code
            == 403
        )
    finally:
        assert alice.request("DELETE", "/api/v1/projects/proj-a/members/bob").status_code == 204
    # Roles are read per request: bob lost access at once.
    assert tenants.caller("bob").get("/api/v1/runs/run-a").status_code == 404


def local_settings(tmp: Path) -> Settings:
    return Settings(data_dir=tmp, maintenance_interval_s=3600)


def test_local_mode_needs_nothing_and_refuses_rebinding_browsers(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    with TestClient(create_app(local_settings(tmp_path)), base_url="http://127.0.0.1:8000") as client:
        me = client.get("/api/v1/auth/me").json()
        assert me["mode"] == "local" and me["kind"] == "local"
        assert client.post("/api/v1/runs", json={"id": "r1", "project": "p"}).status_code == 201
        # A page at evil.example whose name now resolves to 127.0.0.1 (DNS rebinding):
        rebound = client.get(
            "/api/v1/runs", headers={"Host": "evil.example:8000", "Sec-Fetch-Site": "same-origin"}
        )
        assert rebound.status_code == 403
        # The same server opened at localhost in a browser is fine.
        ok = client.get("/api/v1/runs", headers={"Host": "localhost:8000", "Sec-Fetch-Site": "same-origin"})
        assert ok.status_code == 200 and ok.json()["total"] == 1


def test_creating_a_user_turns_local_mode_into_authenticated_mode(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from gradsight_server.auth import service

    with TestClient(create_app(local_settings(tmp_path)), base_url="http://127.0.0.1") as client:
        assert client.get("/api/v1/runs").status_code == 200
        service.create_user(client.app.state.context.db, "first-admin", "a long password", admin=True)  # type: ignore[attr-defined]
        assert client.get("/api/v1/runs").status_code == 401
        assert client.get("/api/v1/health").status_code == 200  # health stays public

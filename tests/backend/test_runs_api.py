from __future__ import annotations

import pytest

from tests.backend.conftest import Api


def test_health_names_the_store_and_queue(api: Api, database_url: str) -> None:
    body = api.client.get("/api/v1/health").json()
    assert body["status"] == "ok"
    assert body["store"] == ("sqlite" if database_url.startswith("sqlite") else "postgresql")
    assert body["queue"] == "inprocess"
    assert body["schema_revision"] is not None


def test_create_is_idempotent_and_resumes(api: Api) -> None:
    first = api.client.post(
        "/api/v1/runs", json={"id": "run-a", "project": "p1", "name": "A", "config": {"lr": 0.1}}
    )
    assert first.status_code == 201
    run = first.json()
    assert run["status"] == "running" and run["name"] == "A" and run["config"] == {"lr": 0.1}
    assert run["health"] == {"critical": 0, "warning": 0, "info": 0}
    assert api.client.post("/api/v1/runs/run-a/finish").json()["status"] == "finished"
    again = api.client.post("/api/v1/runs", json={"id": "run-a", "project": "p1", "config": {"bs": 8}})
    assert again.status_code == 200
    assert again.json()["status"] == "running"
    assert again.json()["config"] == {"lr": 0.1, "bs": 8}
    assert again.json()["finished_at"] is None


def test_a_run_id_cannot_move_to_another_project(api: Api) -> None:
    api.create_run("run-b", project="p1")
    response = api.client.post("/api/v1/runs", json={"id": "run-b", "project": "p2"})
    assert response.status_code == 409
    assert "p1" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": "has space", "project": "p"}, "id"),
        ({"id": "x" * 65, "project": "p"}, "id"),
        ({"id": "ok", "project": ""}, "project"),
        ({"id": "ok", "project": "p", "surprise": 1}, "surprise"),
        ({"id": "ok", "project": "p", "config": {"a": "nul\u0000"}}, "config"),
        ({"id": "ok", "project": "p", "config": [1, 2]}, "config"),
    ],
)
def test_invalid_run_bodies_name_the_field(api: Api, body: dict[str, object], field: str) -> None:
    before = api.snapshot()
    response = api.client.post("/api/v1/runs", json=body)
    assert response.status_code == 422
    assert any(field in err["loc"] for err in response.json()["detail"]), response.json()
    assert api.snapshot() == before


def test_non_finite_and_deep_config_are_refused(api: Api) -> None:
    before = api.snapshot()
    nan = api.client.post(
        "/api/v1/runs",
        content=b'{"id": "x1", "project": "p", "config": {"lr": NaN}}',
        headers={"content-type": "application/json"},
    )
    assert nan.status_code == 422
    deep: dict[str, object] = {}
    node = deep
    for _ in range(40):
        node["a"] = {}
        node = node["a"]  # type: ignore[assignment]
    assert (
        api.client.post("/api/v1/runs", json={"id": "x2", "project": "p", "config": deep}).status_code == 422
    )
    assert api.snapshot() == before


def test_list_filters_and_searches(api: Api) -> None:
    for i in range(3):
        api.create_run(f"list-{i}", project="listing", name=f"sweep_{i}%")
    api.client.post("/api/v1/runs/list-1/finish")
    listing = api.client.get("/api/v1/runs", params={"project": "listing"}).json()
    assert listing["total"] == 3
    assert [r["id"] for r in listing["items"]] == ["list-2", "list-1", "list-0"]  # newest first
    finished = api.client.get("/api/v1/runs", params={"project": "listing", "status": "finished"}).json()
    assert [r["id"] for r in finished["items"]] == ["list-1"]
    # LIKE wildcards in the search text are literal characters.
    assert api.client.get("/api/v1/runs", params={"q": "sweep_1%"}).json()["total"] == 1
    assert api.client.get("/api/v1/runs", params={"q": "%"}).json()["total"] == 3
    page = api.client.get("/api/v1/runs", params={"project": "listing", "limit": 2, "offset": 2}).json()
    assert page["total"] == 3 and [r["id"] for r in page["items"]] == ["list-0"]
    assert api.client.get("/api/v1/runs", params={"status": "bogus"}).status_code == 422
    assert api.client.get("/api/v1/runs", params={"limit": 0}).status_code == 422


def test_unknown_runs_are_404(api: Api) -> None:
    for path in ("", "/keys", "/diagnoses", "/series?keys=loss"):
        response = api.client.get(f"/api/v1/runs/nope{path}")
        assert response.status_code == 404, path
        assert "nope" in response.json()["detail"]
    assert api.client.post("/api/v1/runs/nope/finish").status_code == 404
    assert api.client.delete("/api/v1/runs/nope").status_code == 404


def test_diagnoses_start_empty(api: Api) -> None:
    api.create_run("diag-0")
    assert api.client.get("/api/v1/runs/diag-0/diagnoses").json() == {"items": []}


def test_delete_removes_the_run_and_its_data(api: Api) -> None:
    api.create_run("del-0")
    body = {
        "v": 1,
        "run_id": "del-0",
        "batch_id": "b:1",
        "blocks": [{"keys": ["loss"], "steps": [0, 1], "values": [[1.0, 2.0]]}],
    }
    assert api.post_batch("del-0", body).status_code == 202
    api.settle()
    assert api.client.delete("/api/v1/runs/del-0").status_code == 204
    assert api.client.get("/api/v1/runs/del-0").status_code == 404
    api.create_run("del-0")  # the id is free again and starts empty
    assert api.client.get("/api/v1/runs/del-0/keys").json() == {"items": []}


def test_stale_running_runs_become_crashed_and_revive(api: Api) -> None:
    from datetime import timedelta

    from gradsight_server.ingest.maintenance import sweep

    api.create_run("stale-0")
    ctx = api.context
    stale = ctx.settings.model_copy(update={"stale_after_s": 0.0})
    crashed, _ = sweep(ctx.db, ctx.queue, stale, grace=timedelta(hours=1))
    assert crashed >= 1
    assert api.client.get("/api/v1/runs/stale-0").json()["status"] == "crashed"
    heartbeat = {"v": 1, "run_id": "stale-0", "batch_id": "hb:1", "blocks": []}
    response = api.post_batch("stale-0", heartbeat)
    assert response.status_code == 202 and response.json()["status"] == "heartbeat"
    assert api.client.get("/api/v1/runs/stale-0").json()["status"] == "running"


def test_dashboard_is_served_with_spa_fallback(api: Api) -> None:
    root = api.client.get("/")
    assert root.status_code == 200 and "text/html" in root.headers["content-type"]
    assert root.headers["x-content-type-options"] == "nosniff"
    assert api.client.get("/runs/some-id").status_code == 200
    missing = api.client.get("/api/v1/no-such-route")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/json"
    traversal = api.client.get("/assets/..%2f..%2f..%2fsettings.py")
    assert "BaseSettings" not in traversal.text

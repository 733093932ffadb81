"""A server that requires authentication, with two projects and people and keys in each,
driven in-process through the real app (TestClient) over a real database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from gradsight_server.api.app import create_app
from gradsight_server.auth import service
from gradsight_server.settings import Settings
from gradsight_server.store.engine import Database

PASSWORD = "correct horse battery"


class Caller:
    """One identity's HTTP client: a signed-in user (cookie + CSRF header) or an API key."""

    def __init__(self, app: Any, name: str, *, key: str | None = None) -> None:
        self.name = name
        self.client = TestClient(app, base_url="http://127.0.0.1")
        self.csrf: str | None = None
        if key is not None:
            self.client.headers["Authorization"] = f"Bearer {key}"

    def login(self, username: str, password: str = PASSWORD) -> Caller:
        response = self.client.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        self.csrf = response.json()["csrf_token"]
        self.client.headers["X-CSRF-Token"] = self.csrf
        return self

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        return self.client.request(method, url, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.client.post(path, **kwargs)


@dataclass
class Tenants:
    """Projects ``proj-a`` and ``proj-b``; ``root`` is the server administrator; ``alice``
    administers A, ``carol`` views A, ``bob`` administers B; each project has an ingest and
    a read key and a run with data."""

    app: Any
    db: Database
    keys: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    callers: dict[str, Caller] = field(default_factory=dict)

    def caller(self, name: str) -> Caller:
        if name not in self.callers:
            if name.startswith("key:"):
                self.callers[name] = Caller(self.app, name, key=self.keys[name.removeprefix("key:")])
            elif name == "anonymous":
                self.callers[name] = Caller(self.app, name)
            else:
                self.callers[name] = Caller(self.app, name).login(name)
        return self.callers[name]

    def settle(self) -> None:
        self.app.state.context.queue.join()


def populate(app: Any, db: Database) -> Tenants:
    t = Tenants(app, db)
    service.create_user(db, "root", PASSWORD, admin=True)
    for name in ("alice", "bob", "carol"):
        service.create_user(db, name, PASSWORD, admin=False)
    for project, admin in (("proj-a", "alice"), ("proj-b", "bob")):
        service.create_project(db, project)
        service.set_member(db, project, admin, "admin")
        for scope in ("ingest", "read"):
            key = service.create_key(db, project, f"{scope}-key", scope)
            t.keys[f"{project}:{scope}"] = key["key"]
            t.ids[f"{project}:{scope}"] = key["id"]
    service.set_member(db, "proj-a", "carol", "viewer")
    for project in ("proj-a", "proj-b"):
        agent = t.caller(f"key:{project}:ingest")
        run_id = f"run-{project[-1]}"
        assert agent.post("/api/v1/runs", json={"id": run_id, "project": project}).status_code == 201
        body = {
            "v": 1,
            "run_id": run_id,
            "batch_id": "a:1",
            "blocks": [{"keys": ["loss", "grad_norm"], "steps": [0, 1], "values": [[1.0, 0.5], [2.0, 1.5]]}],
        }
        assert agent.post(f"/api/v1/runs/{run_id}/batches", json=body).status_code == 202
        hook = t.caller("root").post(
            f"/api/v1/projects/{project}/webhooks",
            json={
                "name": "chat",
                "url": "https://chat.example.com/hooks/T000/B000/secretpath",
                "kind": "slack",
            },
        )
        assert hook.status_code == 201, hook.text
        t.ids[f"{project}:webhook"] = hook.json()["id"]
    t.settle()
    return t


@contextmanager
def tenant_server(database_url: str, data_dir: Path, **settings: Any) -> Iterator[Tenants]:
    config = Settings(
        database_url=database_url,
        data_dir=data_dir,
        auth="required",
        maintenance_interval_s=3600,
        **settings,
    )
    with TestClient(create_app(config), base_url="http://127.0.0.1") as client:
        tenants = populate(client.app, client.app.state.context.db)  # type: ignore[attr-defined]
        try:
            yield tenants
        finally:
            for caller in tenants.callers.values():
                caller.client.close()

"""docker-compose.yml cannot run here (no Docker engine), so its structure is checked
against the code it configures."""

from __future__ import annotations

import re

import pytest

from gradsight.settings import AgentSettings
from gradsight_server.cli import build_parser
from gradsight_server.settings import Settings
from tests.support import compose
from tests.support.procs import REPO

SERVICES = {"postgres", "redis", "migrate", "api", "worker"}
OURS = ("migrate", "api", "worker")


def test_services_and_volumes() -> None:
    spec = compose.load()
    assert set(spec["services"]) == SERVICES
    assert set(spec["volumes"]) == {"pgdata", "redisdata"}
    services = spec["services"]
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "redisdata:/data" in services["redis"]["volumes"]
    assert "--appendonly" in services["redis"]["command"], "queued tasks must survive a Redis restart"


@pytest.mark.parametrize("name", ["postgres", "redis", "api", "worker"])
def test_long_running_services_have_healthchecks(name: str) -> None:
    check = compose.load()["services"][name]["healthcheck"]
    assert check["test"] and check["interval"] and check["retries"]


def test_startup_order_waits_for_health_and_migrations() -> None:
    services = compose.load()["services"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully"
        assert deps["redis"]["condition"] == "service_healthy"
    assert services["api"]["environment"]["GRADSIGHT_AUTO_MIGRATE"] == "false"


@pytest.mark.parametrize("name", OURS)
def test_commands_parse_with_the_real_cli(name: str) -> None:
    command = compose.service_command(name)
    assert command[0] == "gradsight-server"
    build_parser().parse_args(command[1:])  # exits (fails the test) on an unknown option


@pytest.mark.parametrize("name", OURS)
def test_environment_names_are_settings_the_server_reads(name: str) -> None:
    fields = {f"GRADSIGHT_{f.upper()}" for f in Settings.model_fields}
    env = compose.service_env(name)
    unknown = {k for k in env if k.startswith("GRADSIGHT_")} - fields
    assert not unknown, f"{name} sets variables no setting reads: {unknown}"
    assert env["GRADSIGHT_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["GRADSIGHT_REDIS_URL"].startswith("redis://redis:6379")
    Settings(**{k.removeprefix("GRADSIGHT_").lower(): v for k, v in env.items()})  # values validate


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    text = (REPO / ".env.example").read_text()
    listed = set(re.findall(r"^(GRADSIGHT_\w+)=", text, flags=re.MULTILINE))
    server = {f"GRADSIGHT_{f.upper()}" for f in Settings.model_fields}
    agent = {f"GRADSIGHT_{f.upper()}" for f in AgentSettings.model_fields}
    assert listed == server | agent


def test_compose_variables_are_documented() -> None:
    used = set(re.findall(r"\$\{(\w+)", compose.COMPOSE_FILE.read_text()))
    documented = set(re.findall(r"^(\w+)=", (REPO / ".env.example").read_text(), flags=re.MULTILINE))
    assert used <= documented, used - documented


def test_dockerfile_copies_what_exists_and_builds_the_dashboard() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (?!--from)(\S+)", dockerfile, flags=re.MULTILINE):
        assert (REPO / source).exists(), f"Dockerfile copies missing {source}"
    assert "npm run build" in dockerfile and "GRADSIGHT_STATIC_DIR=/app/static" in dockerfile
    assert "torch" not in re.sub(r"#.*", "", dockerfile), "the server image must not install PyTorch"


def test_the_published_api_requires_authentication() -> None:
    env = compose.service_env("api")
    assert env["GRADSIGHT_AUTH"] == "required"
    ports = compose.load()["services"]["api"]["ports"]
    assert compose.interpolate(ports[0]).endswith(":8000:8000")
    # Accounts are bootstrapped with the image's own CLI (docs/self-hosting.md).
    build_parser().parse_args(["create-admin", "admin", "--password-stdin"])
    build_parser().parse_args(["create-key", "--project", "p", "--scope", "ingest"])


def test_docs_cover_deployment_backup_upgrade_scaling_and_security() -> None:
    hosting = (REPO / "docs" / "self-hosting.md").read_text().lower()
    for topic in (
        "docker compose up",
        "create-admin",
        "backup",
        "pg_dump",
        "upgrade",
        "migrate",
        "--scale worker",
    ):
        assert topic in hosting, topic
    security = (REPO / "docs" / "security.md").read_text().lower()
    for topic in ("csrf", "api key", "rate limit", "schemathesis", "webhook", "local mode"):
        assert topic in security, topic

"""Read docker-compose.yml the way Compose does (YAML merge keys, ${VAR:-default})."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.support.procs import REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
_VAR = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def load(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def interpolate(value: str, env: dict[str, str] | None = None) -> str:
    env = env or {}
    return _VAR.sub(lambda m: env.get(m.group(1), m.group(2) or ""), value).replace("$$", "$")


def service_env(name: str, env: dict[str, str] | None = None) -> dict[str, str]:
    service = load()["services"][name]
    raw = service.get("environment", {})
    return {k: interpolate(str(v), env) for k, v in raw.items()}


def service_command(name: str) -> list[str]:
    command = load()["services"][name]["command"]
    assert isinstance(command, list), f"{name}: use the exec (list) form for commands"
    return [str(part) for part in command]

"""An embedded server (SQLite, in-process queue) that tests stop and start on the same port,
and the agent's ``gradsight sync`` command run for real."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from tests.support.procs import BIN, Server, free_port


class Embedded:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = f"sqlite:///{base / 'data' / 'gradsight.db'}"
        self.server: Server | None = None
        self._starts = 0

    def start(self) -> Embedded:
        self._starts += 1
        env = {"GRADSIGHT_DATA_DIR": str(self.base / "data")}
        self.server = Server(
            env, self.base / "logs", name=f"server-{self._starts}", port=self.port
        ).wait_ready()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(signal.SIGKILL)
            self.server = None


def sync(
    path: Path | None, url: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``gradsight sync [path] --server url ...``"""
    argv = [
        str(BIN / "gradsight"),
        "sync",
        *([str(path)] if path is not None else []),
        "--server",
        url,
        *extra,
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, env=env)

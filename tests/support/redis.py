"""A private redis-server on a free port (tests that kill or restart Redis must not touch
the machine's shared instance)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import redis

from tests.support.procs import Proc, free_port, wait_until


class RedisServer(Proc):
    def __init__(
        self, data_dir: Path, log_dir: Path, appendonly: bool = True, port: int | None = None
    ) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is missing: run `make test` (apt-get install -y redis-server)"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()  # a restarted Redis keeps its port and data directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        argv = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data_dir),
            "--save",
            "",
            "--appendonly",
            "yes" if appendonly else "no",
            "--appendfsync",
            "everysec",
        ]
        super().__init__(f"redis-{self.port}", argv, {}, log_dir)

    def wait_ready(self, timeout: float = 20) -> RedisServer:
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)

        def ping() -> bool:
            if not self.alive():
                raise RuntimeError(f"redis exited:\n{self.log_tail()}")
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_until(ping, timeout, f"redis on port {self.port}")
        client.close()
        return self


def run_cli(argv: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a one-shot command (e.g. migrate) and fail the test with its output if it fails."""
    import os

    done = subprocess.run(
        argv, env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}"
    return done

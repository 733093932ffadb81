"""The self-hosted stack as real processes whose parts a test can stop, kill and restart:
a private Redis (append-only, as in docker-compose.yml), a fresh PostgreSQL database, one
API process on a fixed port (agents keep its URL across restarts) and Celery workers."""

from __future__ import annotations

import signal
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

import psycopg
import redis

from tests.support.procs import BIN, Proc, Server, free_port, wait_until
from tests.support.redis import RedisServer, run_cli

# Short timings so faults heal in seconds; production defaults are in .env.example.
FAST_SERVER = {
    "GRADSIGHT_MAINTENANCE_INTERVAL_S": "0.5",
    "GRADSIGHT_REQUEUE_AFTER_S": "8",
    "GRADSIGHT_BROKER_VISIBILITY_TIMEOUT_S": "4",
    "GRADSIGHT_DIAGNOSIS_DEBOUNCE_S": "1",
    "GRADSIGHT_COMPACT_AFTER_S": "1",
}


class Worker(Proc):
    """``gradsight-server worker``; ready once Celery says so in its log."""

    def __init__(self, env: Mapping[str, str], log_dir: Path, name: str, concurrency: int = 2) -> None:
        argv = [
            str(BIN / "gradsight-server"),
            "worker",
            "--concurrency",
            str(concurrency),
            "--hostname",
            f"{name}-{free_port()}@%h",
        ]
        super().__init__(name, argv, env, log_dir)

    def wait_ready(self, timeout: float = 60) -> Worker:
        def ready() -> bool:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
            return " ready." in self.log_tail(20_000)

        wait_until(ready, timeout, f"{self.name} to be ready")
        return self


class Stack:
    def __init__(self, base: Path, database_url: str, extra_env: Mapping[str, str] | None = None) -> None:
        self.base = base
        self.logs = base / "logs"
        self.database_url = database_url
        self.redis = RedisServer(base / "redis", self.logs).wait_ready()
        self.env = {
            "GRADSIGHT_DATABASE_URL": database_url,
            "GRADSIGHT_REDIS_URL": self.redis.url,
            "GRADSIGHT_DATA_DIR": str(base / "data"),
            **FAST_SERVER,
            **(extra_env or {}),
        }
        self.api_port = free_port()
        self.api: Server | None = None
        self.workers: list[Worker] = []
        self._started = 0
        try:
            run_cli([str(BIN / "gradsight-server"), "migrate"], self.env)
        except BaseException:
            self.redis.stop()
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def _name(self, kind: str) -> str:
        self._started += 1
        return f"{kind}-{self._started}"

    def start_api(self) -> Server:
        api = Server(self.env, self.logs, name=self._name("api"), port=self.api_port)
        self.api = _ready(api)
        return api

    def stop_api(self, sig: int = signal.SIGKILL) -> None:
        if self.api is not None:
            self.api.stop(sig)
            self.api = None

    def start_worker(self, concurrency: int = 2) -> Worker:
        worker = _ready(Worker(self.env, self.logs, self._name("worker"), concurrency))
        self.workers.append(worker)
        return worker

    def kill_workers(self) -> None:
        for worker in self.workers:
            worker.kill()
        self.workers = []

    def stop_redis(self, sig: int = signal.SIGKILL) -> None:
        self.redis.stop(sig)

    def start_redis(self) -> None:
        self.redis = RedisServer(self.base / "redis", self.logs, port=self.redis.port).wait_ready()

    def redis_client(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis.url, socket_connect_timeout=2)

    def close(self) -> None:
        self.stop_api(signal.SIGTERM)
        for worker in self.workers:
            worker.stop()
        self.redis.stop()

    def worker_log(self) -> str:
        return "".join(path.read_text(errors="replace") for path in sorted(self.logs.glob("worker-*.log")))


P = TypeVar("P", Server, Worker)


def _ready(proc: P) -> P:
    """Wait for a started process; stop it (rather than leak it) if it never gets ready."""
    try:
        proc.wait_ready()
    except BaseException:
        proc.stop()
        raise
    return proc


def connect(database_url: str) -> psycopg.Connection:
    return psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)

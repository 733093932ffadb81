"""A small keep-alive HTTP client (stdlib only) and the retry policy of ARCHITECTURE.md."""

from __future__ import annotations

import http.client
import json
import random
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from gradsight import __version__

RETRYABLE = {408, 429}


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    retry_after: float | None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        """408/429/5xx: try again later. Other 4xx: the request itself is wrong; never retry."""
        return self.status in RETRYABLE or self.status >= 500

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class TransportError(OSError):
    """The server could not be reached (connection refused, reset, timeout, DNS)."""


class HttpClient:
    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 15.0) -> None:
        parts = urlsplit(base_url if "://" in base_url else f"http://{base_url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"server URL must be http(s)://host[:port], not {base_url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._headers = {"User-Agent": f"gradsight-agent/{__version__}"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._https:
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self._timeout, context=ssl.create_default_context()
                )
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        all_headers = {**self._headers, **(headers or {})}
        # A kept-alive connection the server closed fails on first use: retry once on a new one.
        for attempt in (0, 1):
            try:
                conn = self._connection()
                conn.request(method, self._prefix + path, body=body, headers=all_headers)
                raw = conn.getresponse()
                data = raw.read()
                retry_after = _retry_after(raw.getheader("Retry-After"))
                if raw.getheader("Connection", "").lower() == "close":
                    self.close()
                return Response(raw.status, data, retry_after)
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if attempt == 1:
                    raise TransportError(f"{method} {path}: {exc}") from exc
        raise AssertionError("unreachable")

    def post_json(self, path: str, payload: Any) -> Response:
        body = json.dumps(payload, allow_nan=False, default=str).encode()
        return self.request("POST", path, body, {"Content-Type": "application/json"})


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


class Backoff:
    """Exponential backoff with full jitter: 0.5 s, 1 s, 2 s … capped at 30 s."""

    def __init__(self, base: float = 0.5, cap: float = 30.0) -> None:
        self.base, self.cap, self.failures = base, cap, 0

    def reset(self) -> None:
        self.failures = 0

    def next_delay(self, hint: float | None = None) -> float:
        self.failures += 1
        ceiling = min(self.cap, self.base * 2 ** (self.failures - 1))
        delay = random.uniform(ceiling / 2, ceiling)
        return max(delay, min(hint, self.cap)) if hint is not None else delay

"""Run metadata recorded automatically (command, git, host, versions, hardware, model size).

Collected on the transport thread, never in ``gradsight.init``: ``git status`` in a large
repository can take a second and the training loop must not wait for it.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_info() -> dict[str, Any]:
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {}
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status), "branch": _git("rev-parse", "--abbrev-ref", "HEAD")}


def torch_info() -> dict[str, Any]:
    torch = sys.modules.get("torch")
    if torch is None:
        return {}
    info: dict[str, Any] = {"torch": torch.__version__, "cuda": torch.version.cuda}
    try:
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
            info["gpu_count"] = torch.cuda.device_count()
            info["gpu_memory_gb"] = torch.cuda.get_device_properties(0).total_memory / 1024**3
    except Exception:  # a broken driver must not stop a run from starting
        pass
    return info


def collect() -> dict[str, Any]:
    return {
        "command": [sys.executable, *sys.argv],
        "cwd": str(Path.cwd()),
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "pid": os.getpid(),
        "cpu_count": os.cpu_count(),
        "world_size": int(os.environ.get("WORLD_SIZE", "1") or 1),
        "git": git_info(),
        **torch_info(),
    }

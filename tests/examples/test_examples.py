"""Every script in examples/ runs end to end against a real embedded server, and its data
arrives: the run is finished and holds the series the example promises."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.api import raw_series, wait_finished
from tests.support.embedded import Embedded
from tests.support.procs import REPO, free_port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Embedded]:
    embedded = Embedded(tmp_path_factory.mktemp("examples-server")).start()
    yield embedded
    embedded.stop()


def run_example(argv: list[str], env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        argv,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, f"{argv} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return result.stdout


def only_run(server: Embedded, project: str) -> dict[str, Any]:
    items = httpx.get(f"{server.url}/api/v1/runs", params={"project": project}, timeout=10).json()["items"]
    assert len(items) == 1, items
    return wait_finished(server.url, items[0]["id"])


def keys(server: Embedded, run_id: str) -> set[str]:
    return set(httpx.get(f"{server.url}/api/v1/runs/{run_id}/keys", timeout=10).json()["items"])


def test_plain_loop(server: Embedded) -> None:
    out = run_example(
        [
            sys.executable,
            "examples/plain.py",
            "--server",
            server.url,
            "--project",
            "ex-plain",
            "--steps",
            "200",
        ]
    )
    run = only_run(server, "ex-plain")
    assert f"Done: {server.url}/runs/{run['id']}" in out
    assert sorted(raw_series(server.url, run["id"], "loss")) == list(range(200))
    assert sorted(raw_series(server.url, run["id"], "val/acc")) == [49, 99, 149, 199]
    lr = raw_series(server.url, run["id"], "lr")
    assert lr[0] > lr[100] > lr[199]  # the cosine schedule
    acc = raw_series(server.url, run["id"], "val/acc")
    assert acc[199] > 0.6  # it learns (chance is 1/3)
    assert {"grad_norm", "grad_norm/post_clip", "update_ratio", "time/step_s"} <= keys(server, run["id"])


def test_lightning(server: Embedded) -> None:
    out = run_example(
        [
            sys.executable,
            "examples/lightning_example.py",
            "--server",
            server.url,
            "--project",
            "ex-lightning",
            "--epochs",
            "2",
        ]
    )
    run = only_run(server, "ex-lightning")
    assert f"Done: 32 steps, {server.url}/runs/{run['id']}" in out  # 32 batches per epoch, 2 per step
    assert run["config"]["lr"] == 2e-3 and run["config"]["trainer"]["accumulate_grad_batches"] == 2
    assert sorted(raw_series(server.url, run["id"], "loss")) == list(range(1, 33))
    assert sorted(raw_series(server.url, run["id"], "val/loss")) == [16, 32]
    assert {"val/acc", "train_acc", "grad_norm", "clip/applied", "lr"} <= keys(server, run["id"])


def test_hf_trainer(server: Embedded) -> None:
    out = run_example(
        [
            sys.executable,
            "examples/hf_trainer.py",
            "--server",
            server.url,
            "--project",
            "ex-hf",
            "--steps",
            "24",
        ]
    )
    run = only_run(server, "ex-hf")
    assert f"Done: {server.url}/runs/{run['id']}" in out
    assert sorted(raw_series(server.url, run["id"], "loss")) == list(range(1, 25))
    assert sorted(raw_series(server.url, run["id"], "val/loss")) == [8, 16, 24]
    lr = raw_series(server.url, run["id"], "lr")
    assert lr[1] < lr[3] and lr[24] < lr[3]  # warmup, then linear decay
    assert {"grad_norm", "throughput/tokens_per_s", "epoch"} <= keys(server, run["id"])


def test_ddp_with_torchrun(server: Embedded) -> None:
    argv = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
        "examples/ddp_torchrun.py", "--server", server.url, "--project", "ex-ddp", "--epochs", "2",
    ]  # fmt: skip
    # The run id is pinned so the test can name it; the agent decides what each rank sends.
    out = run_example(argv, env={"GRADSIGHT_RUN_ID": "ddp-example-run", "OMP_NUM_THREADS": "1"})
    run = only_run(server, "ex-ddp")
    assert run["id"] == "ddp-example-run" and f"Run {run['id']}" in out
    assert sorted(raw_series(server.url, run["id"], "loss")) == list(range(64))  # 2048 / 2 ranks / 32 × 2
    assert {"grad_norm", "grad_norm/0.weight", "lr"} <= keys(server, run["id"])


@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
def test_amp(server: Embedded, dtype: str) -> None:
    project = f"ex-amp-{dtype}"
    run_example(
        [
            sys.executable,
            "examples/amp.py",
            "--server",
            server.url,
            "--project",
            project,
            "--dtype",
            dtype,
            "--steps",
            "120",
        ]
    )
    run = only_run(server, project)
    assert sorted(raw_series(server.url, run["id"], "loss")) == list(range(120))
    if dtype == "fp16":
        scale = raw_series(server.url, run["id"], "amp/loss_scale")
        skipped = raw_series(server.url, run["id"], "amp/skipped")
        assert sorted(scale) == list(range(120))
        assert 1.0 in skipped.values() and 0.0 in skipped.values()
        assert scale[119] < 2.0**16  # overflowing float16 steps were skipped and the scale backed off
    else:
        assert "amp/loss_scale" not in keys(server, run["id"])

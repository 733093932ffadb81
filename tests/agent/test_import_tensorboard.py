"""``gradsight import tensorboard DIR``, the real command, against a real embedded server: a
TensorBoard log becomes a run that the server diagnoses; importing again changes nothing."""

from __future__ import annotations

import math
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams

from tests.support.api import get_run, raw_series
from tests.support.embedded import Embedded, sync
from tests.support.procs import BIN, free_port, wait_until
from tests.support.store import total_points


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Embedded]:
    embedded = Embedded(tmp_path_factory.mktemp("tb-server")).start()
    yield embedded
    embedded.stop()


def gradsight_import(path: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [str(BIN / "gradsight"), "import", "tensorboard", str(path), "--server", url, *extra]
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=120, check=False, env=os.environ.copy()
    )


def diverging_log(directory: Path, start: int = 0, stop: int = 120, offset: float = 0.0) -> None:
    """What Lightning's TensorBoardLogger writes: hparams in the same file, then scalars.
    The loss falls, then blows up and ends in NaN."""
    writer = SummaryWriter(str(directory))
    if start == 0:
        for summary in hparams({"lr": 0.3, "optimizer": "SGD"}, {}):
            writer.file_writer.add_summary(summary)
    for step in range(start, stop):
        loss = 2.0 * 0.97**step if step < 80 else 0.2 * 1.4 ** (step - 80)
        writer.add_scalar("train_loss", float("nan") if step >= 110 else loss + offset, step)
        writer.add_scalar("lr-SGD", 0.3, step)
        if step % 20 == 19:
            writer.add_scalar("val_loss", loss * 1.1, step)
    writer.close()


def run_ids(url: str, project: str) -> list[str]:
    items = httpx.get(f"{url}/api/v1/runs", params={"project": project}, timeout=10).json()["items"]
    return [r["id"] for r in items]


def test_import_renames_keeps_nonfinite_and_gets_a_diagnosis(server: Embedded, tmp_path: Path) -> None:
    diverging_log(tmp_path / "lightning_logs" / "version_0")
    result = gradsight_import(tmp_path / "lightning_logs", server.url, "--project", "tb")
    assert result.returncode == 0, result.stderr
    [run_id] = run_ids(server.url, "tb")
    assert f"lightning_logs/version_0 → run {run_id}: 246 points, 3 keys, steps 0–119" in result.stdout
    assert "renamed lr-SGD → lr, train_loss → loss, val_loss → val/loss" in result.stdout
    assert f"uploaded: {server.url}/runs/{run_id}" in result.stdout

    run = get_run(server.url, run_id)
    assert run["name"] == "lightning_logs/version_0" and run["status"] == "finished"
    assert run["config"] == {"lr": 0.3, "optimizer": "SGD"}
    assert run["metadata"]["source"] == "tensorboard"
    loss = raw_series(server.url, run_id, "loss")
    assert sorted(loss) == list(range(120))
    assert math.isclose(loss[10], 2.0 * 0.97**10, rel_tol=1e-6)  # float32 in the file
    assert all(math.isnan(loss[s]) for s in range(110, 120))
    assert sorted(raw_series(server.url, run_id, "val/loss")) == list(range(19, 120, 20))

    def diagnosed() -> bool:
        items = httpx.get(f"{server.url}/api/v1/runs/{run_id}/diagnoses", timeout=10).json()["items"]
        return any(d["rule"] == "divergence" and d["severity"] == "critical" for d in items)

    wait_until(diagnosed, 60, "a divergence diagnosis of the imported run", interval=0.5)

    # Importing again is a no-op; a resumed run (a later event file) adds what changed.
    points = total_points(server.database_url, run_id)
    again = gradsight_import(tmp_path / "lightning_logs", server.url, "--project", "tb")
    assert again.returncode == 0 and "already imported, nothing new" in again.stdout
    assert total_points(server.database_url, run_id) == points
    diverging_log(tmp_path / "lightning_logs" / "version_0", start=100, stop=130, offset=-0.05)
    grown = gradsight_import(tmp_path / "lightning_logs", server.url, "--project", "tb")
    assert grown.returncode == 0, grown.stderr
    assert run_ids(server.url, "tb") == [run_id]
    loss = raw_series(server.url, run_id, "loss")
    assert sorted(loss) == list(range(130))
    assert math.isclose(loss[100], 0.2 * 1.4**20 - 0.05, rel_tol=1e-6)  # the later file wins


def test_an_unreachable_server_leaves_the_run_in_the_spool_for_sync(server: Embedded, tmp_path: Path) -> None:
    diverging_log(tmp_path / "logs", stop=30)
    away = gradsight_import(tmp_path / "logs", f"http://127.0.0.1:{free_port()}", "--retry-for", "1")
    assert away.returncode == 1
    assert "gradsight sync" in away.stderr
    spool = Path(os.environ["GRADSIGHT_SPOOL_DIR"])
    done = sync(spool, server.url)
    assert done.returncode == 0, done.stderr
    [run_id] = [p for p in run_ids(server.url, "default") if p.startswith("tb-")]
    assert sorted(raw_series(server.url, run_id, "loss")) == list(range(30))


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    empty = gradsight_import(tmp_path, "http://127.0.0.1:9")
    assert empty.returncode == 2 and "no TensorBoard event files" in empty.stderr
    missing = gradsight_import(tmp_path / "nope", "http://127.0.0.1:9")
    assert missing.returncode == 2 and "is not a directory" in missing.stderr

"""The query endpoints through the real app on both databases: per-layer heatmaps, run
comparison, CSV and Parquet export, and deleting a run with everything it stored."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from sqlalchemy import text

from gradsight_server.ingest.maintenance import compact_pending
from gradsight_server.store import diagnoses, runs
from tests.backend.conftest import Api, batch

LAYERS = [
    "embed.weight",
    "blocks.0.attn.weight",
    "blocks.0.mlp.up.weight",
    "blocks.0.mlp.down.weight",
    "head.weight",
]
MODULES = ["blocks.0.mlp.act", "blocks.0.attn", "head", "embed", "zzz.unknown", "blocks.0.mlp.up"]
N = 3_000


def post(api: Api, run_id: str, batch_id: str, blocks: list[dict[str, Any]], **extra: Any) -> None:
    response = api.post_batch(run_id, batch(run_id, batch_id, blocks, **extra))
    assert response.status_code == 202, response.text


def grad(step: int, layer: int) -> Any:
    if step == 1_500 and layer == 2:
        return "NaN"
    return (layer + 1) * 10.0 + math.sin(step / 50) + (1000.0 if (step, layer) == (2_222, 3) else 0.0)


@pytest.fixture(scope="module")
def heat(api: Api) -> str:
    run_id = "heat-0"
    api.create_run(run_id)
    shuffled = [LAYERS[i] for i in (3, 0, 4, 1, 2)]  # keys arrive in any order; layers say the model's
    for lo in range(0, N, 500):
        steps = list(range(lo, lo + 500))
        blocks = [
            {
                "keys": [f"grad_norm/{name}" for name in shuffled],
                "steps": steps,
                "values": [[grad(s, LAYERS.index(name)) for s in steps] for name in shuffled],
            },
            {
                "keys": [f"act/max_abs/{m}" for m in MODULES],
                "steps": steps[::10],
                "values": [[float(i)] * len(steps[::10]) for i in range(len(MODULES))],
            },
        ]
        wall = {"steps": steps, "time": [1.7e9 + s for s in steps]}
        post(api, run_id, f"h:{lo}", blocks, layers=LAYERS if lo == 0 else None, wall=wall)
    api.settle()
    assert compact_pending(api.context.db, api.context.queue) >= 1
    return run_id


def matrix(api: Api, run_id: str, **params: Any) -> Any:
    return api.client.get(f"/api/v1/runs/{run_id}/matrix", params=params)


def test_matrix_rows_follow_the_model_and_hold_each_buckets_aggregate(api: Api, heat: str) -> None:
    body = matrix(api, heat, family="grad_norm/", points=100, agg="max").json()
    assert body["family"] == "grad_norm/" and body["layers"] == LAYERS
    width = 32  # the smallest power of two that fits 3,000 steps in 100 buckets
    assert body["step"] == list(range(0, N, width))
    assert len(body["values"]) == len(LAYERS) and all(len(r) == len(body["step"]) for r in body["values"])
    for li, row in enumerate(body["values"]):
        for bi, got in enumerate(row):
            want = [grad(s, li) for s in range(bi * width, min(N, (bi + 1) * width))]
            finite = [v for v in want if v != "NaN"]
            assert got == max(finite), (li, bi)
    assert body["values"][3][2_222 // width] == max(grad(s, 3) for s in range(2_208, 2_240))
    last = matrix(api, heat, family="grad_norm/", start=1_490, end=1_510, points=100, agg="last").json()
    assert last["step"] == list(range(1_490, 1_510)) and last["values"][2][10] == "NaN"
    mean = matrix(api, heat, family="grad_norm/", start=0, end=64, points=1, agg="mean").json()
    assert mean["step"] == [0] and math.isclose(
        mean["values"][0][0], np.mean([grad(s, 0) for s in range(64)])
    )


def test_activation_modules_sit_where_their_parameters_do(api: Api, heat: str) -> None:
    body = matrix(api, heat, family="act/max_abs/", agg="min").json()
    assert body["layers"] == [
        "embed",
        "blocks.0.attn",
        "blocks.0.mlp.act",
        "blocks.0.mlp.up",
        "head",
        "zzz.unknown",
    ]
    assert [row[0] for row in body["values"]] == [float(MODULES.index(m)) for m in body["layers"]]


def test_matrix_parameters_are_checked(api: Api, heat: str) -> None:
    for params, field in [
        ({"family": "grad_norm"}, "family"),
        ({"family": "grad_norm/", "agg": "median"}, "agg"),
        ({"family": "grad_norm/", "points": 0}, "points"),
        ({"family": "grad_norm/", "points": 10_001}, "points"),
        ({"family": "grad_norm/", "start": 10, "end": 10}, "end"),
        ({}, "family"),
    ]:
        response = matrix(api, heat, **params)
        assert response.status_code == 422, params
        assert response.json()["detail"][0]["loc"][-1] == field, response.json()
    assert matrix(api, "nobody", family="grad_norm/").status_code == 404
    empty = matrix(api, heat, family="nothing/").json()
    assert empty == {"family": "nothing/", "layers": [], "step": [], "values": []}


def test_compare_lines_up_the_same_key_across_runs(api: Api, heat: str) -> None:
    api.create_run("short-0")
    post(api, "short-0", "s:1", [{"keys": ["loss"], "steps": list(range(0, 300)), "values": [[1.0] * 300]}])
    api.create_run("long-0")
    steps = list(range(0, 5_000))
    post(api, "long-0", "l:1", [{"keys": ["loss"], "steps": steps, "values": [[float(s) for s in steps]]}])
    api.settle()
    response = api.client.get(
        "/api/v1/compare", params={"runs": "long-0,short-0,heat-0", "keys": "loss", "points": 100}
    )
    assert response.status_code == 200
    body = response.json()
    assert [r["run_id"] for r in body["runs"]] == ["long-0", "short-0", "heat-0"]
    (long,), (short,), (none,) = (r["series"] for r in body["runs"])
    assert long["step"][:5] == short["step"] == list(range(0, 300, 64)), "one width (64) for every run"
    assert long["max"][1] == 127.0 and short["count"] == [64] * 4 + [44]
    assert none == {
        "key": "loss",
        "raw": True,
        **{k: [] for k in ("step", "min", "max", "mean", "last", "count", "nonfinite")},
    }
    missing = api.client.get("/api/v1/compare", params={"runs": "long-0,ghost", "keys": "loss"})
    assert missing.status_code == 404 and "ghost" in missing.json()["detail"]
    for params, field in [
        ({"runs": "", "keys": "loss"}, "runs"),
        ({"runs": "a b", "keys": "loss"}, "runs"),
        ({"runs": ",".join(f"r{i}" for i in range(51)), "keys": "loss"}, "runs"),
        ({"runs": "long-0", "keys": ""}, "keys"),
        ({"runs": "long-0", "keys": "loss", "start": 9, "end": 3}, "end"),
    ]:
        response = api.client.get("/api/v1/compare", params=params)
        assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == field, params


def exported(api: Api, run_id: str, fmt: str) -> list[tuple[int, str, float, float | None]]:
    response = api.client.get(f"/api/v1/runs/{run_id}/export", params={"format": fmt})
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == f'attachment; filename="{run_id}.{fmt}"'
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(response.text)))
        return [
            (int(r["step"]), r["key"], float(r["value"]), float(r["wall_time"]) if r["wall_time"] else None)
            for r in rows
        ]
    table = pq.read_table(io.BytesIO(response.content)).to_pydict()
    return list(zip(table["step"], table["key"], table["value"], table["wall_time"], strict=True))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_has_every_raw_point_with_its_wall_time(api: Api, fmt: str) -> None:
    run_id = f"export-{fmt}"
    api.create_run(run_id)
    post(
        api,
        run_id,
        "e:1",
        [
            {
                "keys": ["a", "b"],
                "steps": [0, 1, 2],
                "values": [["NaN", "Infinity", "-Infinity"], [1e-300, -0.0, 5.5]],
            }
        ],
        wall={"steps": [0, 1], "time": [1.7e9 + 0.25, 1.7e9 + 1.5]},
    )
    post(api, run_id, "e:2", [{"keys": ["a"], "steps": [2, 70_000], "values": [[7.0, 8.0]]}])  # re-log; gap
    api.settle()
    rows = exported(api, run_id, fmt)
    order = [(0, "a"), (1, "a"), (2, "a"), (0, "b"), (1, "b"), (2, "b"), (70_000, "a")]
    assert [(s, k) for s, k, _, _ in rows] == order, "by step window, then key, then step"
    values = [v for _, _, v, _ in rows]
    assert math.isnan(values[0]) and values[1:3] == [math.inf, 7.0]
    assert values[3:7] == [1e-300, -0.0, 5.5, 8.0] and math.copysign(1, values[4]) == -1
    assert [t for *_, t in rows] == [1.7e9 + 0.25, 1.7e9 + 1.5, None, 1.7e9 + 0.25, 1.7e9 + 1.5, None, None]
    assert api.client.get("/api/v1/runs/nobody/export").status_code == 404
    bad = api.client.get(f"/api/v1/runs/{run_id}/export", params={"format": "xlsx"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "format"


TABLES = (
    "segments",
    "rollups",
    "metric_keys",
    "latest_values",
    "ingest_batches",
    "diagnoses",
    "diagnosis_state",
)


def rows_of(api: Api, run_pk: int) -> dict[str, int]:
    counts = {}
    with api.context.db.session() as session:
        for table in TABLES:
            if table == "rollups":
                query = "SELECT count(*) FROM rollups WHERE key_id IN (SELECT id FROM metric_keys WHERE run_pk = :pk)"
            else:
                query = f"SELECT count(*) FROM {table} WHERE run_pk = :pk"
            counts[table] = int(session.execute(text(query), {"pk": run_pk}).scalar_one())
    return counts


def test_delete_removes_every_row_the_run_owns(api: Api) -> None:
    run_id = "gone-0"
    api.create_run(run_id)
    steps = list(range(0, 6_000))
    post(api, run_id, "g:1", [{"keys": ["loss"], "steps": steps, "values": [[1.0] * len(steps)]}])
    api.settle()
    compact_pending(api.context.db, api.context.queue)
    post(api, run_id, "g:2", [{"keys": ["loss"], "steps": [6_000], "values": [[2.0]]}])  # fresh again
    api.settle()
    with api.context.db.write_session() as session:
        run = runs.get(session, run_id)
        assert run is not None
        run_pk = run.pk
        diagnoses.record_pass(session, run_pk, 6_000)
        diagnoses.create(session, run_pk, {"rule": "loss_spike", "severity": "warning", "status": "open",
                                           "summary": "s", "evidence": {}, "recommendations": []})  # fmt: skip
    before = rows_of(api, run_pk)
    assert all(before[t] > 0 for t in TABLES), before
    assert api.client.delete(f"/api/v1/runs/{run_id}").status_code == 204
    assert rows_of(api, run_pk) == dict.fromkeys(TABLES, 0)

from __future__ import annotations

import gzip
import math
from typing import Any

import msgpack
import numpy as np
import pytest

from gradsight.transport import wire
from gradsight.transport.columns import Block, Columns
from tests.backend.conftest import Api, batch


@pytest.fixture(scope="module")
def run_id(api: Api) -> str:
    api.create_run("ingest-0", project="ingest")
    return "ingest-0"


def test_json_batch_is_accepted_then_a_resend_is_a_duplicate(api: Api, run_id: str) -> None:
    body = batch(
        run_id,
        "agent-1:1",
        [{"keys": ["loss", "acc"], "steps": [0, 1, 2], "values": [[3.0, 2.5, 2.0], [0.1, 0.2, 0.3]]}],
        wall={"steps": [0, 1, 2], "time": [100.0, 101.0, 102.5]},
    )
    first = api.post_batch(run_id, body)
    assert first.status_code == 202
    accepted = {"batch_id": "agent-1:1", "status": "accepted", "points": 6, "inserted": 6, "duplicates": 0}
    assert first.json() == accepted
    again = api.post_batch(run_id, body)
    assert again.status_code == 202
    assert again.json() == {**accepted, "status": "duplicate", "inserted": 0, "duplicates": 6}
    api.settle()
    (loss,) = api.series(run_id, "loss")
    assert loss["step"] == [0, 1, 2] and loss["last"] == [3.0, 2.5, 2.0]  # once, not twice
    assert api.client.get(f"/api/v1/runs/{run_id}").json()["last_step"] == 2
    assert api.client.get(f"/api/v1/runs/{run_id}/keys").json()["items"] == ["acc", "loss"]
    (wall,) = api.series(run_id, "_wall_time")
    assert wall["last"] == [100.0, 101.0, 102.5]


def test_non_finite_values_round_trip_exactly(api: Api, run_id: str) -> None:
    body = batch(
        run_id,
        "agent-1:2",
        [
            {
                "keys": ["weird"],
                "steps": [10, 11, 12, 13],
                "values": [["NaN", "Infinity", "-Infinity", 1e-300]],
            }
        ],
    )
    assert api.post_batch(run_id, body).status_code == 202
    api.settle()
    (s,) = api.series(run_id, "weird")
    assert s["raw"] is True
    assert s["last"] == ["NaN", "Infinity", "-Infinity", 1e-300]
    assert s["min"] == [None, None, None, 1e-300]
    assert s["nonfinite"] == [1, 1, 1, 0]
    (bucketed,) = api.series(run_id, "weird", points=1)
    assert bucketed["raw"] is False
    assert bucketed["count"] == [4] and bucketed["nonfinite"] == [3]
    assert bucketed["min"] == [1e-300] and bucketed["max"] == [1e-300] and bucketed["last"] == [1e-300]


def test_a_new_batch_relogging_a_step_replaces_it(api: Api, run_id: str) -> None:
    assert (
        api.post_batch(
            run_id,
            batch(run_id, "a:1", [{"keys": ["rewind"], "steps": [0, 1, 2, 3], "values": [[9, 9, 9, 9]]}]),
        ).status_code
        == 202
    )
    assert (
        api.post_batch(
            run_id,
            batch(run_id, "b:1", [{"keys": ["rewind"], "steps": [2, 3, 4], "values": [[1, "NaN", 1]]}]),
        ).status_code
        == 202
    )
    api.settle()
    (s,) = api.series(run_id, "rewind")
    assert s["step"] == [0, 1, 2, 3, 4]
    assert s["last"] == [9.0, 9.0, 1.0, "NaN", 1.0]


def test_msgpack_gzip_batch_from_the_agent_encoder(api: Api, run_id: str) -> None:
    steps = np.arange(100, 160, dtype=np.int64)
    values = np.vstack([np.sin(steps / 7.0), np.cos(steps / 7.0)])
    values[0, 5] = np.nan
    cols = Columns(
        blocks=[Block(("mp/sin", "mp/cos"), steps, values)], wall_steps=steps, wall_time=steps * 0.5
    )
    body = wire.encode(wire.document(run_id, "mp:1", cols, layers=["a.weight", "b.weight"]))
    response = api.client.post(
        f"/api/v1/runs/{run_id}/batches",
        content=body,
        headers={"content-type": wire.CONTENT_TYPE, "content-encoding": "gzip"},
    )
    assert response.status_code == 202 and response.json()["points"] == 120
    api.settle()
    sin, cos = api.series(run_id, "mp/sin,mp/cos")
    assert sin["step"] == steps.tolist()
    assert sin["last"][5] == "NaN"
    got = [v for i, v in enumerate(sin["last"]) if i != 5]
    assert np.allclose(got, np.delete(values[0], 5), rtol=0, atol=0)
    assert np.array_equal(cos["last"], values[1])


def test_series_buckets_keep_extremes_and_respect_the_range(api: Api, run_id: str) -> None:
    steps = list(range(0, 1000))
    values: list[Any] = [float(math.sin(s / 50)) for s in steps]
    values[777] = 1000.0  # a single spike
    values[333] = "NaN"
    assert (
        api.post_batch(
            run_id, batch(run_id, "zoom:1", [{"keys": ["zoom"], "steps": steps, "values": [values]}])
        ).status_code
        == 202
    )
    api.settle()
    for points in (1, 7, 64, 999):
        (s,) = api.series(run_id, "zoom", points=points)
        assert 0 < len(s["step"]) <= points
        assert max(v for v in s["max"] if v is not None) == 1000.0
        assert sum(s["count"]) == 1000 and sum(s["nonfinite"]) == 1
    (window,) = api.series(run_id, "zoom", start=770, end=780)
    assert window["raw"] and window["step"] == list(range(770, 780)) and window["last"][7] == 1000.0
    (empty,) = api.series(run_id, "zoom", start=5000)
    assert empty["step"] == []
    assert (
        api.client.get(
            f"/api/v1/runs/{run_id}/series", params={"keys": "zoom", "start": 5, "end": 5}
        ).status_code
        == 422
    )
    assert (
        api.client.get(f"/api/v1/runs/{run_id}/series", params={"keys": "zoom", "points": 0}).status_code
        == 422
    )
    assert api.client.get(f"/api/v1/runs/{run_id}/series", params={"keys": ","}).status_code == 422
    (unknown,) = api.series(run_id, "not-logged-yet")
    assert unknown["step"] == []


def _post(api: Api, run_id: str, content: bytes, content_type: str, encoding: str | None = None) -> Any:
    headers = {"content-type": content_type}
    if encoding:
        headers["content-encoding"] = encoding
    return api.client.post(f"/api/v1/runs/{run_id}/batches", content=content, headers=headers)


GOOD_BLOCK = {"keys": ["loss"], "steps": [0], "values": [[1.0]]}


@pytest.mark.parametrize(
    ("name", "mutate", "status", "loc"),
    [
        ("version", lambda b: b.update(v=2), 422, ["body", "v"]),
        ("run_id mismatch", lambda b: b.update(run_id="other"), 422, ["body", "run_id"]),
        ("batch_id", lambda b: b.update(batch_id="has space"), 422, ["body", "batch_id"]),
        ("unknown field", lambda b: b.update(extra=1), 422, ["body", "extra"]),
        (
            "steps not increasing",
            lambda b: b["blocks"].__setitem__(0, {"keys": ["x"], "steps": [2, 1], "values": [[1, 2]]}),
            422,
            ["body", "blocks", 0, "steps"],
        ),
        (
            "float step",
            lambda b: b["blocks"].__setitem__(0, {"keys": ["x"], "steps": [1.0], "values": [[1]]}),
            422,
            ["body", "blocks", 0, "steps"],
        ),
        (
            "negative step",
            lambda b: b["blocks"].__setitem__(0, {"keys": ["x"], "steps": [-1], "values": [[1]]}),
            422,
            ["body", "blocks", 0, "steps"],
        ),
        (
            "huge step",
            lambda b: b["blocks"].__setitem__(0, {"keys": ["x"], "steps": [2**60], "values": [[1]]}),
            422,
            ["body", "blocks", 0, "steps"],
        ),
        (
            "ragged values",
            lambda b: b["blocks"].__setitem__(
                0, {"keys": ["x", "y"], "steps": [0, 1], "values": [[1, 2], [3]]}
            ),
            422,
            ["body", "blocks", 0, "values", 1],
        ),
        (
            "lowercase nan string",
            lambda b: b["blocks"].__setitem__(0, {"keys": ["x"], "steps": [0], "values": [["nan"]]}),
            422,
            ["body", "blocks", 0, "values", 0, 0],
        ),
        (
            "bool value",
            lambda b: b["blocks"].__setitem__(0, {"keys": ["x"], "steps": [0], "values": [[True]]}),
            422,
            ["body", "blocks", 0, "values", 0, 0],
        ),
        (
            "comma in key",
            lambda b: b["blocks"].__setitem__(0, {"keys": ["a,b"], "steps": [0], "values": [[1]]}),
            422,
            ["body", "blocks", 0, "keys", 0],
        ),
        (
            "reserved key",
            lambda b: b["blocks"].__setitem__(0, {"keys": ["_wall_time"], "steps": [0], "values": [[1]]}),
            422,
            ["body", "blocks", 0, "keys", 0],
        ),
        (
            "control char key",
            lambda b: b["blocks"].__setitem__(0, {"keys": ["a\nb"], "steps": [0], "values": [[1]]}),
            422,
            ["body", "blocks", 0, "keys", 0],
        ),
        (
            "key in two blocks",
            lambda b: b["blocks"].append(dict(GOOD_BLOCK, steps=[5])),
            422,
            ["body", "blocks", 1, "keys"],
        ),
        (
            "zero count",
            lambda b: b["blocks"].__setitem__(0, dict(GOOD_BLOCK, counts=[[0]])),
            422,
            ["body", "blocks", 0, "counts", 0],
        ),
        (
            "wall length",
            lambda b: b.update(wall={"steps": [0, 1], "time": [1.0]}),
            422,
            ["body", "wall", "time"],
        ),
        ("blocks not a list", lambda b: b.update(blocks={}), 422, ["body", "blocks"]),
        (
            "too many points",
            lambda b: b["blocks"].__setitem__(
                0, {"keys": ["x"], "steps": list(range(60_000)), "values": [[0.0] * 60_000]}
            ),
            413,
            ["body"],
        ),
    ],
)
def test_bad_json_batches_are_refused_and_change_nothing(
    api: Api, run_id: str, name: str, mutate: Any, status: int, loc: list[Any]
) -> None:
    body = batch(run_id, "bad:1", [dict(GOOD_BLOCK)])
    mutate(body)
    before = api.snapshot()
    response = api.post_batch(run_id, body)
    assert response.status_code == status, (name, response.text)
    assert response.json()["detail"][0]["loc"] == loc, name
    api.settle()
    assert api.snapshot() == before, name


@pytest.mark.parametrize(
    ("name", "content", "content_type", "encoding", "status"),
    [
        ("not json", b"{nope", "application/json", None, 400),
        (
            "NaN literal",
            b'{"v": 1, "run_id": "ingest-0", "batch_id": "x", "blocks": [{"keys": ["a"], "steps": [0], "values": [[NaN]]}]}',
            "application/json",
            None,
            400,
        ),
        ("text/plain", b"{}", "text/plain", None, 415),
        ("no content type", b"{}", "", None, 415),
        ("deflate", b"{}", "application/json", "br", 415),
        ("bad gzip", b"\x1f\x8bnot gzip at all", "application/json", "gzip", 400),
        ("truncated gzip", gzip.compress(b'{"v": 1}')[:-6], "application/json", "gzip", 400),
        ("gzip bomb", gzip.compress(b" " * 3_000_000), "application/json", "gzip", 413),
        ("too large", b" " * 1_100_000, "application/json", None, 413),
        ("not msgpack", b"\xc1\xc1\xc1", wire.CONTENT_TYPE, None, 400),
        ("msgpack array", msgpack.packb([1, 2]), wire.CONTENT_TYPE, None, 422),
        (
            "msgpack short values",
            msgpack.packb(
                {
                    "v": 1,
                    "run_id": "ingest-0",
                    "batch_id": "m:1",
                    "blocks": [{"keys": ["a"], "steps": np.zeros(2, "<i8").tobytes(), "values": b"\0" * 8}],
                }
            ),
            wire.CONTENT_TYPE,
            None,
            422,
        ),
        (
            "msgpack odd bytes",
            msgpack.packb(
                {
                    "v": 1,
                    "run_id": "ingest-0",
                    "batch_id": "m:1",
                    "blocks": [{"keys": ["a"], "steps": b"\0" * 7, "values": b"\0" * 8}],
                }
            ),
            wire.CONTENT_TYPE,
            None,
            422,
        ),
        (
            "msgpack list steps",
            msgpack.packb(
                {
                    "v": 1,
                    "run_id": "ingest-0",
                    "batch_id": "m:1",
                    "blocks": [{"keys": ["a"], "steps": [0], "values": b"\0" * 8}],
                }
            ),
            wire.CONTENT_TYPE,
            None,
            422,
        ),
        ("invalid utf-8", b'{"v": 1, "run_id": "\xff\xfe"}', "application/json", None, 400),
    ],
)
def test_undecodable_bodies_are_refused_and_change_nothing(
    api: Api, run_id: str, name: str, content: bytes, content_type: str, encoding: str | None, status: int
) -> None:
    before = api.snapshot()
    response = _post(api, run_id, content, content_type, encoding)
    assert response.status_code == status, (name, response.text)
    assert "detail" in response.json()
    api.settle()
    assert api.snapshot() == before, name


def test_batches_for_unknown_runs_are_404(api: Api) -> None:
    response = api.post_batch("ghost", batch("ghost", "g:1", [GOOD_BLOCK]))
    assert response.status_code == 404


def test_final_batch_finishes_the_run_and_records_layer_order(api: Api) -> None:
    api.create_run("final-0", project="ingest")
    body = batch("final-0", "f:1", [GOOD_BLOCK], final=True, layers=["l2.weight", "l1.weight"])
    assert api.post_batch("final-0", body).status_code == 202
    api.settle()
    run = api.client.get("/api/v1/runs/final-0").json()
    assert run["status"] == "finished" and run["finished_at"] is not None
    with api.context.db.session() as session:
        from gradsight_server.store import runs

        stored = runs.get(session, "final-0")
        assert stored is not None and stored.layers == ["l2.weight", "l1.weight"]

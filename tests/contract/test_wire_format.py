"""One wire format, checked from both sides: the agent's encoder, the server's decoder, and
golden files that pin the bytes (docs/wire-format.md). Changing the format means bumping
the version, not editing these files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

from gradsight.transport import wire
from gradsight.transport.columns import Block, Columns
from gradsight_server.wire.decode import decode_batch
from gradsight_server.wire.model import JSON_TYPE, MSGPACK_TYPE, Batch

HERE = Path(__file__).parent
GOLDEN_JSON = HERE / "batch_v1.json"
GOLDEN_MSGPACK = HERE / "batch_v1.msgpack"


def canonical_columns() -> Columns:
    """The agent-side twin of batch_v1.json."""
    return Columns(
        blocks=[
            Block(
                ("grad_norm", "loss"),
                np.array([10, 11, 12]),
                np.array([[0.84, np.inf, 1e-30], [2.31, np.nan, -0.0]]),
            ),
            Block(("val/loss",), np.array([10]), np.array([[-np.inf]]), np.array([[3]], dtype=np.uint32)),
        ],
        wall_steps=np.array([10, 11, 12]),
        wall_time=np.array([1732430000.5, 1732430000.75, 1732430001.0]),
    )


def agent_bytes() -> bytes:
    golden = json.loads(GOLDEN_JSON.read_text())
    doc = wire.document(
        golden["run_id"], golden["batch_id"], canonical_columns(), final=True, layers=golden["layers"]
    )
    return gzip.decompress(wire.encode(doc))


def assert_same(a: Batch, b: Batch) -> None:
    assert (a.run_id, a.batch_id, a.final, a.layers) == (b.run_id, b.batch_id, b.final, b.layers)
    assert np.array_equal(a.wall_steps, b.wall_steps) and np.array_equal(a.wall_time, b.wall_time)
    assert len(a.blocks) == len(b.blocks)
    for x, y in zip(a.blocks, b.blocks, strict=True):
        assert x.keys == y.keys
        assert np.array_equal(x.steps, y.steps)
        # equal_nan, and -0.0 must stay negative zero
        assert np.array_equal(x.values, y.values, equal_nan=True)
        assert np.array_equal(np.signbit(x.values), np.signbit(y.values))
        assert (x.counts is None) == (y.counts is None)
        if x.counts is not None and y.counts is not None:
            assert np.array_equal(x.counts, y.counts)


def test_agent_bytes_match_the_golden_msgpack() -> None:
    assert agent_bytes() == GOLDEN_MSGPACK.read_bytes()


def test_server_reads_both_encodings_of_the_golden_batch_identically() -> None:
    from_json = decode_batch(GOLDEN_JSON.read_bytes(), JSON_TYPE, max_points=1000)
    from_msgpack = decode_batch(GOLDEN_MSGPACK.read_bytes(), MSGPACK_TYPE, max_points=1000)
    assert_same(from_json, from_msgpack)
    assert from_json.n_points == 7
    assert from_json.max_step == 12


def test_server_reads_what_the_agent_encodes() -> None:
    decoded = decode_batch(agent_bytes(), f"{MSGPACK_TYPE}; charset=binary", max_points=1000)
    assert decoded.blocks[1].counts is not None and decoded.blocks[1].counts.tolist() == [[3]]
    assert np.isnan(decoded.blocks[0].values[1, 1])
    assert decoded.blocks[0].values[0, 1] == np.inf


def test_agent_and_server_share_the_version_and_content_type() -> None:
    from gradsight_server.wire import model

    assert wire.WIRE_VERSION == model.WIRE_VERSION == 1
    assert wire.CONTENT_TYPE == model.MSGPACK_TYPE

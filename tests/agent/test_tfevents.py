"""The event-file reader (no TensorFlow) against files written by real writers — PyTorch's
``SummaryWriter`` and TensorBoard's own protos — and checked against TensorBoard's reader."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from torch.utils.tensorboard import SummaryWriter

from gradsight.importers.tensorboard import EventDir, find_event_dirs, load
from gradsight.importers.tfrecord import ReadStats, crc32c, masked_crc32c, read_records


def test_crc32c_matches_the_published_check_value() -> None:
    assert crc32c(b"123456789") == 0xE3069283  # RFC 3720, appendix B.4
    assert masked_crc32c(b"") == ((0 >> 15 | 0 << 17) + 0xA282EAD8) & 0xFFFFFFFF


def scalar_tensor(tag: str, dtype: int, **fields: object) -> summary_pb2.Summary.Value:
    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
    )
    tensor = tensor_pb2.TensorProto(dtype=dtype, tensor_shape=tensor_shape_pb2.TensorShapeProto(), **fields)
    return summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=metadata)


def write_mixed(path: Path) -> dict[str, dict[int, float]]:
    """Every scalar encoding TensorBoard knows, plus values that must survive (NaN, ±Inf)."""
    expected: dict[str, dict[int, float]] = {}
    writer = SummaryWriter(str(path))
    for step in range(20):
        loss = float("nan") if step == 7 else 1.0 / (step + 1)
        writer.add_scalar("train/loss", loss, step)  # simple_value
        writer.add_scalar("tensor_style", step * 0.5, step, new_style=True)  # float tensor
        writer.add_histogram("weights", np.arange(10.0) * step, step)
        expected.setdefault("loss", {})[step] = loss
        expected.setdefault("tensor_style", {})[step] = step * 0.5
    writer.add_scalar("inf", float("-inf"), 3)
    expected["inf"] = {3: float("-inf")}
    writer.close()
    raw = EventFileWriter(str(path))
    values = [
        scalar_tensor("as_double", 2, double_val=[2.5]),
        scalar_tensor("as_int64", 9, int64_val=[-7]),
        scalar_tensor("as_half", 19, half_val=[struct.unpack("<H", np.float16(1.5).tobytes())[0]]),
        scalar_tensor("as_content", 1, tensor_content=np.float32(0.25).tobytes()),
        summary_pb2.Summary.Value(
            tag="text",
            tensor=tensor_pb2.TensorProto(dtype=7, string_val=[b"hi"]),
            metadata=summary_pb2.SummaryMetadata(
                plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="text")
            ),
        ),
    ]
    raw.add_event(event_pb2.Event(wall_time=1e9, step=100, summary=summary_pb2.Summary(value=values)))
    raw.close()
    expected.update(
        {"as_double": {100: 2.5}, "as_int64": {100: -7.0}, "as_half": {100: 1.5}, "as_content": {100: 0.25}}
    )
    return expected


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b or math.isclose(a, b, rel_tol=1e-6)


def test_every_scalar_encoding_is_read_and_agrees_with_tensorboard(tmp_path: Path) -> None:
    expected = write_mixed(tmp_path / "run")
    [event_dir] = find_event_dirs(tmp_path / "run", merge=False)
    loaded = load(event_dir)
    got = {k: {s: v for s, (v, _) in by_step.items()} for k, by_step in loaded.table.items()}
    assert got.keys() == expected.keys()
    for key, by_step in expected.items():
        assert got[key].keys() == by_step.keys()
        assert all(same(got[key][s], v) for s, v in by_step.items()), key
    assert loaded.renamed == {"train/loss": "loss"}
    assert loaded.skipped == {"histogram": 1, "text": 1}
    assert loaded.problems == []
    # TensorBoard's own reader sees the same simple and tensor scalars.
    acc = EventAccumulator(str(event_dir.files[0])).Reload()
    for tag, key in (("train/loss", "loss"),):
        theirs = {e.step: e.value for e in acc.Scalars(tag)}
        assert all(same(got[key][s], v) for s, v in theirs.items()) and theirs.keys() == got[key].keys()


def test_a_file_cut_short_keeps_its_complete_records(tmp_path: Path) -> None:
    writer = SummaryWriter(str(tmp_path))
    for step in range(30):
        writer.add_scalar("loss", float(step), step)
    writer.close()
    [path] = list(tmp_path.glob("*tfevents*"))
    data = path.read_bytes()
    path.write_bytes(data[:-7])  # a writer killed mid-record
    stats = ReadStats()
    assert len(list(read_records(path, stats))) > 0
    assert stats.problem is not None and "partial record" in stats.problem
    loaded = load(EventDir("cut", [path]))
    assert sorted(loaded.table["loss"]) == list(range(29))
    assert any("partial record" in p for p in loaded.problems)


def test_a_corrupt_record_is_skipped_and_counted(tmp_path: Path) -> None:
    writer = SummaryWriter(str(tmp_path))
    for step in range(5):
        writer.add_scalar("loss", float(step), step)
    writer.close()
    [path] = list(tmp_path.glob("*tfevents*"))
    data = bytearray(path.read_bytes())
    data[-6] ^= 0xFF  # inside the last record's data
    path.write_bytes(bytes(data))
    loaded = load(EventDir("corrupt", [path]))
    assert sorted(loaded.table["loss"]) == [0, 1, 2, 3]
    assert loaded.problems == [f"{path.name}: 1 corrupt record(s) skipped"]


@pytest.mark.parametrize("merge", [False, True])
def test_keras_layout_is_two_runs_or_one_merged(tmp_path: Path, merge: bool) -> None:
    for part, value in (("train", 1.0), ("validation", 2.0)):
        writer = SummaryWriter(str(tmp_path / part))
        writer.add_scalar("epoch_loss", value, 0)
        writer.close()
    found = find_event_dirs(tmp_path, merge=merge)
    if not merge:
        assert [d.name.split("/")[-1] for d in found] == ["train", "validation"]
        return
    [one] = found
    loaded = load(one)
    assert {k: v[0][0] for k, v in loaded.table.items()} == {"loss": 1.0, "val/loss": 2.0}

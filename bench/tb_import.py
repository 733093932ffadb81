"""How fast `gradsight import tensorboard` reads event files, against TensorBoard's own reader.

    python bench/tb_import.py [--tags 20] [--steps 10000]

Writes one event file with PyTorch's SummaryWriter (``--tags`` scalars at each of
``--steps`` steps), then times, in this process: Gradsight's reader (TFRecord framing with
CRC-32C checks in pure Python, protobuf decoding, the per-step table: ``importers.load``),
the encoding into upload batches (``importers.batches``), and as the baseline TensorBoard's
``EventAccumulator`` loading every scalar of the same file (no sampling). Best of 3 each.
Needs the ``tensorboard`` package (requirements/test.txt) for the writer and the baseline.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.utils.tensorboard import SummaryWriter

from gradsight.importers.tensorboard import EventDir, batches, load


def best_of(n: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tags", type=int, default=20)
    parser.add_argument("--steps", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        writer = SummaryWriter(tmp)
        for step in range(args.steps):
            for t in range(args.tags):
                writer.add_scalar(f"metric_{t}", 1.0 / (step + t + 1), step)
        writer.close()
        [path] = list(Path(tmp).glob("*tfevents*"))
        points = args.tags * args.steps
        event_dir = EventDir("bench", [path])
        loaded = load(event_dir)
        assert loaded.n_points == points, (loaded.n_points, points)
        ours = best_of(3, lambda: load(event_dir))
        encode = best_of(3, lambda: batches("tb-bench", loaded))

        def baseline() -> None:
            acc = EventAccumulator(str(path), size_guidance={"scalars": 0}).Reload()
            assert sum(len(acc.Scalars(t)) for t in acc.Tags()["scalars"]) == points

        theirs = best_of(3, baseline)
        size = path.stat().st_size
    print(f"event file: {points:,} points ({args.tags} tags × {args.steps:,} steps), {size / 2**20:.1f} MiB")
    print(f"gradsight read (importers.load):       {ours:6.2f} s  {points / ours:>10,.0f} points/s")
    print(f"gradsight encode batches:              {encode:6.2f} s  {points / encode:>10,.0f} points/s")
    print(f"baseline: TensorBoard EventAccumulator: {theirs:6.2f} s  {points / theirs:>10,.0f} points/s")


if __name__ == "__main__":
    main()

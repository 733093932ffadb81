"""``gradsight import tensorboard DIR``: runs you already have, diagnosed like live ones.

Every directory under DIR holding event files (``*tfevents*``) is one run, as in
TensorBoard (``--merge`` makes all of DIR one run, each subdirectory's tags prefixed with
its path: Keras's ``train/`` and ``validation/`` logs). Scalars keep their values (NaN and
±Inf included) and steps; tags with an unambiguous Gradsight meaning are renamed
(metric_names.py: ``train/loss`` → ``loss``, ``eval/loss`` → ``val/loss``,
``lr-AdamW`` → ``lr``), the rest stay user keys. A tag logged several times at one step in
one file keeps the mean and the count, as ``run.log`` does; a later file wins over an
earlier one at the same step (a run resumed from a checkpoint re-logs its steps).

Uploading goes through the agent's own spool and ``gradsight sync`` path: the run id is
derived from the event files' names (unique per writer: time, host, process) and the
project, and batch ids from their content, so importing again is a no-op, and importing a
log that has grown since uploads only what changed. What the server does not take stays in
the spool for ``gradsight sync``.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradsight import __version__, metric_names
from gradsight.capture.record import mean
from gradsight.importers.protobuf import DecodeError
from gradsight.importers.tfevents import parse_event
from gradsight.importers.tfrecord import ReadStats, read_records
from gradsight.run import jsonable
from gradsight.transport import wire
from gradsight.transport.columns import Columns, from_table
from gradsight.transport.spool import RunSpool, batch_name

EVENT_MARKER = "tfevents"
MAX_POINTS_PER_BATCH = 200_000
"""Well under the server's default limit (2M points, 32 MiB): a few MB per request."""
MAX_STEP = 2**53
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

Table = dict[str, dict[int, tuple[float, int]]]


@dataclass
class EventDir:
    """One TensorBoard run: its event files, in the order they were written."""

    name: str
    files: list[Path]
    prefixes: dict[Path, str] = field(default_factory=dict)
    """Tag prefix per file (``--merge``: the file's directory relative to DIR)."""


@dataclass
class Loaded:
    table: Table = field(default_factory=dict)
    wall: dict[int, float] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)
    """Non-scalar tags by kind (histogram, image, text …)."""
    dropped_points: int = 0
    """Points at a negative step or beyond 2⁵³, or under a tag that is empty once cleaned."""
    problems: list[str] = field(default_factory=list)

    @property
    def n_points(self) -> int:
        return sum(len(v) for v in self.table.values())


def find_event_dirs(root: Path, merge: bool) -> list[EventDir]:
    files = sorted(p for p in root.rglob(f"*{EVENT_MARKER}*") if p.is_file())
    base = root.resolve().name or "tensorboard"
    if merge:
        prefixes = {p: _relative(p.parent, root) for p in files}
        return [EventDir(base, files, {p: f"{d}/" for p, d in prefixes.items() if d})] if files else []
    by_dir: dict[Path, list[Path]] = defaultdict(list)
    for path in files:
        by_dir[path.parent].append(path)
    return [
        EventDir(
            f"{base}/{rel}" if (rel := _relative(d, root)) else base, sorted(found, key=lambda p: p.name)
        )
        for d, found in sorted(by_dir.items())
    ]


def _relative(directory: Path, root: Path) -> str:
    rel = directory.relative_to(root).as_posix()
    return "" if rel == "." else rel


def clean_tag(tag: str) -> str:
    """A tag as a metric name: no control characters or commas, no leading ``_`` or spaces,
    at most 256 characters (docs/wire-format.md)."""
    return _CONTROL.sub("", tag).replace(",", ";").strip().lstrip("_").strip()[:256]


def load(event_dir: EventDir) -> Loaded:
    loaded = Loaded()
    skipped: dict[str, set[str]] = defaultdict(set)
    raw: Table = {}
    for path in event_dir.files:
        prefix = event_dir.prefixes.get(path, "")
        values: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
        stats = ReadStats()
        try:
            for record in read_records(path, stats):
                try:
                    event = parse_event(record)
                except DecodeError as exc:
                    stats.corrupt_records += 1
                    loaded.problems.append(f"{path.name}: an undecodable event ({exc})")
                    continue
                if event.hparams:
                    loaded.config.update(event.hparams)
                for tag, kind in event.skipped:
                    skipped[kind].add(prefix + tag)
                if not event.scalars:
                    continue
                if not 0 <= event.step < MAX_STEP:
                    loaded.dropped_points += len(event.scalars)
                    continue
                for tag, value in event.scalars:
                    values[prefix + tag][event.step].append(value)
                if math.isfinite(event.wall_time):
                    loaded.wall[event.step] = max(loaded.wall.get(event.step, 0.0), event.wall_time)
        except OSError as exc:
            loaded.problems.append(f"{path}: {exc}")
        if stats.problem:
            loaded.problems.append(f"{path.name} {stats.problem}")
        if stats.corrupt_records:
            loaded.problems.append(f"{path.name}: {stats.corrupt_records} corrupt record(s) skipped")
        for tag, by_step in values.items():  # a later file wins at the steps it logged
            raw.setdefault(tag, {}).update({s: (mean(v), len(v)) for s, v in by_step.items()})
    loaded.skipped = Counter({kind: len(tags) for kind, tags in skipped.items()})
    cleaned: dict[str, str] = {}
    for tag in raw:
        name = clean_tag(tag)
        if not name or name in cleaned.values():
            loaded.dropped_points += len(raw[tag])
            loaded.problems.append(f"tag {tag!r} cannot be a metric name; not imported")
            continue
        cleaned[tag] = name
    loaded.renamed = metric_names.mapping(cleaned.values())
    for tag, name in cleaned.items():
        loaded.table[loaded.renamed.get(name, name)] = raw[tag]
    return loaded


def run_id(project: str, event_dir: EventDir) -> str:
    """Stable across imports and moves of the directory, and as the run grows: the name of
    its first event file (``events.out.tfevents.<time>.<host>.<pid>.<n>``, unique per
    writer; a resumed run adds later files) and the project."""
    first = min(event_dir.files, key=lambda p: (p.name, event_dir.prefixes.get(p, "")))
    key = f"{project}\n{event_dir.prefixes.get(first, '')}{first.name}"
    return "tb-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def batches(run: str, loaded: Loaded) -> list[bytes]:
    """Encoded batches of at most MAX_POINTS_PER_BATCH points, in step order; the last one is
    final (the run is finished). Batch ids hash the content: re-sending is a no-op."""
    steps = sorted({s for by_step in loaded.table.values() for s in by_step} | set(loaded.wall))
    per_step = Counter(s for by_step in loaded.table.values() for s in by_step)
    chunks: list[list[int]] = [[]]
    points = 0
    for step in steps:
        if chunks[-1] and points + per_step[step] > MAX_POINTS_PER_BATCH:
            chunks.append([])
            points = 0
        chunks[-1].append(step)
        points += per_step[step]
    bodies = []
    for i, chunk in enumerate(chunks):
        first, last = (chunk[0], chunk[-1]) if chunk else (0, -1)
        table = {
            key: part
            for key, by_step in loaded.table.items()
            if (part := {s: v for s, v in by_step.items() if first <= s <= last})
        }
        cols = from_table(table, {s: w for s, w in loaded.wall.items() if first <= s <= last})
        final = i == len(chunks) - 1
        bodies.append(_encode(run, cols, final))
    return bodies


def _encode(run: str, cols: Columns, final: bool) -> bytes:
    digest = hashlib.sha256(wire.encode(wire.document(run, "tb", cols, final=final))).hexdigest()
    return wire.encode(wire.document(run, f"tb:{digest[:40]}", cols, final=final))


def write_spool(spool: RunSpool, body: dict[str, Any], encoded: list[bytes]) -> None:
    """The run as the agent would have left it in its spool. Batches of an earlier import of
    the same run that were never uploaded are superseded by these."""
    for old in spool.batches():
        spool.remove(old)
    spool.write_run(body)
    for seq, data in enumerate(encoded, start=1):
        spool.append(batch_name(0, "tb", seq), data)


def run_body(run: str, project: str, name: str, event_dir: EventDir, loaded: Loaded) -> dict[str, Any]:
    return {
        "id": run,
        "project": project,
        "name": name,
        "config": jsonable(loaded.config),
        "metadata": {
            "source": "tensorboard",
            "event_files": sorted(event_dir.prefixes.get(p, "") + p.name for p in event_dir.files)[:1000],
            "renamed_tags": loaded.renamed,
            "importer": f"gradsight {__version__}",
        },
    }

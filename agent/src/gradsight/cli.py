"""``gradsight``: the agent's command line. ``gradsight sync [DIR]`` uploads spooled runs;
``gradsight import tensorboard DIR`` uploads runs recorded by TensorBoard."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gradsight import __version__
from gradsight.settings import AgentSettings
from gradsight.transport.client import Backoff, HttpClient
from gradsight.transport.spool import RunSpool, find_runs
from gradsight.transport.sync import Patience, RunReport, sync_run

if TYPE_CHECKING:
    from gradsight.importers.tensorboard import Loaded


def _describe(report: RunReport) -> str:
    line = f"run {report.run_id}{report.label}: {report.uploaded} batch(es) uploaded"
    if report.uploaded:
        line += f" ({report.points:,} new points"
        line += (
            f", {report.duplicate_batches} batch(es) the server already had)"
            if report.duplicate_batches
            else ")"
        )
    if report.rejected:
        line += f", {report.rejected} rejected (kept as *.rejected)"
    if report.left:
        line += f", {report.left} left"
    if report.problem:
        line += f": {report.problem}"
    return line


def _sync(args: argparse.Namespace) -> int:
    settings = AgentSettings()
    root = Path(args.dir).expanduser() if args.dir else settings.spool_dir
    if not root.is_dir():
        print(f"gradsight sync: {root} is not a directory", file=sys.stderr)
        return 2
    server = args.server or settings.url
    try:
        client = HttpClient(server, args.api_key or settings.api_key)
    except ValueError as exc:
        print(f"gradsight sync: {exc}", file=sys.stderr)
        return 2
    patience = Patience(args.retry_for, Backoff(cap=settings.retry_max_s))
    reports = []
    try:
        for spool in find_runs(root):
            report = sync_run(spool, client, patience)
            if report.uploaded or report.left or report.rejected or report.problem:
                print(_describe(report), flush=True)
            reports.append(report)
    finally:
        client.close()
    uploaded = sum(r.uploaded for r in reports)
    left = sum(r.left for r in reports)
    rejected = sum(r.rejected for r in reports)
    print(
        f"gradsight sync: {len(reports)} run(s) in {root} to {server}: {uploaded} batch(es) uploaded, "
        f"{rejected} rejected, {left} left"
    )
    if left:
        print(f"run `gradsight sync {root}` again to upload what is left", file=sys.stderr)
    return 1 if left or rejected else 0


def _import_tensorboard(args: argparse.Namespace) -> int:
    from gradsight.importers import tensorboard as tb

    settings = AgentSettings()
    root = Path(args.dir).expanduser()
    if not root.is_dir():
        print(f"gradsight import: {root} is not a directory", file=sys.stderr)
        return 2
    found = tb.find_event_dirs(root, args.merge)
    if not found:
        print(f"gradsight import: no TensorBoard event files (*tfevents*) under {root}", file=sys.stderr)
        return 2
    if args.name and len(found) > 1:
        print(
            f"gradsight import: --name names one run, and {root} holds {len(found)} "
            "(use --merge to import them as one)",
            file=sys.stderr,
        )
        return 2
    project = args.project or settings.project
    server = args.server or settings.url
    try:
        client = HttpClient(server, args.api_key or settings.api_key)
    except ValueError as exc:
        print(f"gradsight import: {exc}", file=sys.stderr)
        return 2
    patience = Patience(args.retry_for, Backoff(cap=settings.retry_max_s))
    failed = False
    try:
        for event_dir in found:
            loaded = tb.load(event_dir)
            name = (args.name or event_dir.name)[:256]
            for problem in loaded.problems:
                print(f"{name}: {problem}", file=sys.stderr)
            if not loaded.table:
                print(f"{name}: no scalars to import", flush=True)
                continue
            run_id = tb.run_id(project, event_dir)
            spool = RunSpool(settings.spool_dir, run_id)
            tb.write_spool(
                spool, tb.run_body(run_id, project, name, event_dir, loaded), tb.batches(run_id, loaded)
            )
            report = sync_run(spool, client, patience)
            print(_describe_import(name, run_id, loaded, report, server), flush=True)
            failed = failed or bool(report.left or report.rejected)
            if report.left:
                print(f"run `gradsight sync {spool.path}` to upload what is left", file=sys.stderr)
    finally:
        client.close()
    return 1 if failed else 0


def _describe_import(name: str, run_id: str, loaded: Loaded, report: RunReport, server: str) -> str:
    steps = sorted({s for by_step in loaded.table.values() for s in by_step})
    line = (
        f"{name} → run {run_id}: {loaded.n_points:,} points, {len(loaded.table)} keys, "
        f"steps {steps[0]}–{steps[-1]}"
    )
    if loaded.renamed:
        line += "; renamed " + ", ".join(f"{a} → {b}" for a, b in sorted(loaded.renamed.items()))
    if loaded.skipped:
        line += "; skipped " + ", ".join(f"{n} {kind} tag(s)" for kind, n in sorted(loaded.skipped.items()))
    if report.left or report.rejected or report.problem:
        return line + "\n  " + _describe(report)
    if report.uploaded and report.duplicate_batches == report.uploaded:
        return line + f"\n  already imported, nothing new: {server.rstrip('/')}/runs/{run_id}"
    return line + f"\n  uploaded: {server.rstrip('/')}/runs/{run_id}"


def _upload_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", help="server URL (default GRADSIGHT_URL, then http://localhost:8000)")
    parser.add_argument("--api-key", help="API key (default GRADSIGHT_API_KEY)")
    parser.add_argument(
        "--retry-for",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="give up after this long without progress while the server is unavailable (default 60)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradsight", description="The Gradsight agent's command line.")
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    sync = commands.add_parser(
        "sync",
        help="upload spooled runs (offline runs, or what a run could not send)",
        description="Upload a run's spool directory, or every run in a spool root, in order. "
        "Files are deleted once the server has them; running it again is harmless.",
    )
    sync.add_argument(
        "dir", nargs="?", help="a run's spool directory or a directory of them (default GRADSIGHT_SPOOL_DIR)"
    )
    _upload_options(sync)
    sync.set_defaults(run=_sync)

    importer = commands.add_parser("import", help="upload runs recorded by another tool")
    sources = importer.add_subparsers(dest="source", required=True)
    tensorboard = sources.add_parser(
        "tensorboard",
        help="TensorBoard event files",
        description="Upload the scalars of TensorBoard event files as Gradsight runs, to be diagnosed "
        "like live ones: each directory holding event files is one run. Importing again is harmless.",
    )
    tensorboard.add_argument("dir", help="a TensorBoard log directory (a run, or a directory of runs)")
    _upload_options(tensorboard)
    tensorboard.add_argument("--project", help="project (default GRADSIGHT_PROJECT, then 'default')")
    tensorboard.add_argument("--name", help="run name, when DIR holds one run (default: its directory)")
    tensorboard.add_argument(
        "--merge",
        action="store_true",
        help="import everything under DIR as one run, prefixing tags with their subdirectory "
        "(Keras writes train/ and validation/ logs)",
    )
    tensorboard.set_defaults(run=_import_tensorboard)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())

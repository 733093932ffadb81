"""``gradsight``: the agent's command line. ``gradsight sync [DIR]`` uploads spooled runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gradsight import __version__
from gradsight.settings import AgentSettings
from gradsight.transport.client import Backoff, HttpClient
from gradsight.transport.spool import find_runs
from gradsight.transport.sync import Patience, RunReport, sync_run


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
    sync.add_argument("--server", help="server URL (default GRADSIGHT_URL, then http://localhost:8000)")
    sync.add_argument("--api-key", help="API key (default GRADSIGHT_API_KEY)")
    sync.add_argument(
        "--retry-for",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="give up after this long without progress while the server is unavailable (default 60)",
    )
    sync.set_defaults(run=_sync)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())

"""Agent overhead, measured side by side in one process (issue 3's benchmark).

Identical copies of a reference model — decoder-only transformer, 4 layers, d_model 256,
4 heads, sequence 128, batch 8, vocabulary 4096, AdamW — are stepped round-robin: bare, a
second bare copy (the noise floor), Gradsight in several configurations, and, when
installed, ``wandb.watch(model, log="gradients", log_freq=1)`` in offline mode. Each
round feeds every copy the same batch; the figure for a mode is the median over rounds of
its step time divided by the bare step of the same round, repeated and the median taken
(ARCHITECTURE.md: "Measure overhead in pairs").

Gradsight runs use ``mode="offline"`` (batches encoded and written to the spool), so the
agent's whole cost is in this process and no server competes for the cores. The agent's
background thread shares the cores with training; its CPU time per step is reported
separately, because round-robin spreads it over every copy's step time.

    python bench/agent_overhead.py                # full run (~6 min on 2 cores)
    python bench/agent_overhead.py --rounds 4 --repeats 1 --no-wandb   # smoke run

Host memory is measured in separate processes (``--memory``): peak RSS of a bare run and of
a run with everything on, same model, same steps.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

VOCAB, SEQ, BATCH, D_MODEL, HEADS, LAYERS = 4096, 128, 8, 256, 4, 4


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(D_MODEL)
        self.qkv = nn.Linear(D_MODEL, 3 * D_MODEL)
        self.proj = nn.Linear(D_MODEL, D_MODEL)
        self.ln2 = nn.LayerNorm(D_MODEL)
        self.fc = nn.Linear(D_MODEL, 4 * D_MODEL)
        self.act = nn.GELU()
        self.out = nn.Linear(4 * D_MODEL, D_MODEL)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, HEADS, D_MODEL // HEADS).unbind(2)
        y = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True
        )
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, D_MODEL))
        return x + self.out(self.act(self.fc(self.ln2(x))))


class TinyGPT(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D_MODEL)
        self.pos = nn.Parameter(torch.zeros(SEQ, D_MODEL))
        self.blocks = nn.ModuleList(Block() for _ in range(LAYERS))
        self.norm = nn.LayerNorm(D_MODEL)
        self.head = nn.Linear(D_MODEL, VOCAB, bias=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids) + self.pos[: ids.shape[1]]
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))


@dataclass
class Copy:
    name: str
    model: nn.Module
    opt: torch.optim.Optimizer
    log: Callable[[torch.Tensor], None]
    finish: Callable[[], None]
    threads: set[int] = field(default_factory=set)  # native ids of this copy's agent threads


def make_copy(name: str, kind: str, options: dict[str, Any], spool: Path) -> Copy:
    torch.manual_seed(0)
    model = TinyGPT()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    if kind == "bare":
        return Copy(name, model, opt, lambda _loss: None, lambda: None)
    if kind == "wandb":
        import wandb

        run = wandb.init(project="gradsight-bench", mode="offline", dir=str(spool), reinit=True)
        wandb.watch(model, log="gradients", log_freq=1)
        return Copy(name, model, opt, lambda loss: run.log({"loss": loss.item()}), run.finish)
    from gradsight.ids import new_run_id
    from gradsight.run import Run
    from gradsight.settings import AgentSettings

    settings = AgentSettings(mode="offline", spool_dir=spool / name.replace(" ", "_"))
    run = Run(run_id=new_run_id(), project="bench", name=name, config={}, settings=settings)
    run.watch(model, opt, **options)
    return Copy(name, model, opt, lambda loss: run.log({"loss": loss}), run.finish)


def step(copy: Copy, ids: torch.Tensor) -> float:
    t0 = time.perf_counter()
    logits = copy.model(ids[:, :-1])
    loss = F.cross_entropy(logits.reshape(-1, VOCAB), ids[:, 1:].reshape(-1))
    loss.backward()
    copy.opt.step()
    copy.opt.zero_grad(set_to_none=True)
    copy.log(loss)
    return time.perf_counter() - t0


def agent_threads() -> set[int]:
    return {t.native_id for t in threading.enumerate() if t.name.startswith("gradsight") and t.native_id}


def thread_cpu(ids: set[int]) -> float:
    """CPU seconds used so far by these threads."""
    return sum(t.user_time + t.system_time for t in psutil.Process().threads() if t.id in ids)


def measure(copies: list[Copy], rounds: int, warmup: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {c.name: [] for c in copies}
    gen = torch.Generator().manual_seed(1)
    order_gen = torch.Generator().manual_seed(2)
    for r in range(warmup + rounds):
        ids = torch.randint(0, VOCAB, (BATCH, SEQ + 1), generator=gen)
        # A fresh random order every round: a copy must not always follow the same neighbour (the
        # step after wandb's is slowed by wandb's background process, the first after a new batch
        # runs on colder caches). Rotating would keep the circular order, and that bias.
        for i in torch.randperm(len(copies), generator=order_gen).tolist():
            copy = copies[i]
            t = step(copy, ids)
            if r >= warmup:
                times[copy.name].append(t)
    return times


def ratios(times: dict[str, list[float]]) -> dict[str, float]:
    """Median over rounds of step time / the mean of the two bare copies' steps that round
    (two bare copies: neither one's quirks — allocation order, cache placement — sets the scale)."""
    bare = [(a + b) / 2 for a, b in zip(times["bare"], times["bare (noise floor)"], strict=True)]
    return {
        name: statistics.median(t / b for t, b in zip(ts, bare, strict=True)) for name, ts in times.items()
    }


MEMORY_PROBE = """
import json, sys, tempfile, resource, psutil
sys.path.insert(0, {here!r})
import torch
torch.set_num_threads(2)
import agent_overhead as b
options = json.loads({options!r})
process = psutil.Process()
steady = 0.0
with tempfile.TemporaryDirectory() as spool:
    from pathlib import Path
    copy = b.make_copy("m", "bare" if options is None else "gradsight", options or {{}}, Path(spool))
    gen = torch.Generator().manual_seed(1)
    for _ in range({steps}):
        b.step(copy, torch.randint(0, b.VOCAB, (b.BATCH, b.SEQ + 1), generator=gen))
        steady = max(steady, process.memory_info().rss / 2**20)
    copy.finish()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, steady)
"""


def memory_mb(options: dict[str, Any] | None, steps: int) -> tuple[float, float]:
    """(peak RSS, largest RSS between steps) of a fresh process training ``steps`` steps, with
    or without the agent. The peak is set by activations during backward; the between-steps
    figure is where the agent's own memory (snapshots, buffers, queues) shows."""
    code = MEMORY_PROBE.format(here=str(Path(__file__).parent), options=json.dumps(options), steps=steps)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    peak, steady = out.stdout.strip().splitlines()[-1].split()
    return float(peak), float(steady)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60, help="measured rounds per repeat (≥ 50)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--no-wandb", action="store_true")
    parser.add_argument("--memory", action="store_true", help="also measure host memory")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    torch.set_num_threads(2)

    modes: list[tuple[str, str, dict[str, Any]]] = [
        ("bare", "bare", {}),
        ("bare (noise floor)", "bare", {}),
        ("gradsight default", "gradsight", {}),
        ("gradsight + spectral every 10", "gradsight", {"spectral_every": 10}),
        ("gradsight + activations", "gradsight", {"activations": True}),
    ]
    have_wandb = False
    if not args.no_wandb:
        try:
            import wandb  # noqa: F401

            have_wandb = True
            modes.append(("wandb.watch gradients log_freq=1", "wandb", {}))
        except ImportError:
            print("wandb is not installed (pip install -r requirements/bench.txt): skipping that row\n")

    per_repeat: list[dict[str, float]] = []
    agent_cpu: dict[str, float] = {name: 0.0 for name, _, _ in modes}
    bare_times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stderr(sys.stderr):
        os.environ.setdefault("WANDB_SILENT", "true")
        for repeat in range(args.repeats):
            # Fresh copies per repeat, created in a rotated order: where a model lands in memory
            # (allocation order) shifts its step time by a few percent, and must not follow the mode.
            order = modes[repeat % len(modes) :] + modes[: repeat % len(modes)]
            built: dict[str, Copy] = {}
            for name, kind, options in order:
                before = agent_threads()
                built[name] = make_copy(name, kind, options, Path(tmp) / str(repeat))
                built[name].threads = agent_threads() - before
            copies = [built[name] for name, _, _ in modes]
            cpu_before = {c.name: thread_cpu(c.threads) for c in copies}
            times = measure(copies, args.rounds, args.warmup)
            per_repeat.append(ratios(times))
            bare_times.extend(times["bare"] + times["bare (noise floor)"])
            for c in copies:
                agent_cpu[c.name] += thread_cpu(c.threads) - cpu_before[c.name]
            for c in copies:
                c.finish()
        steps_each = args.repeats * (args.rounds + args.warmup)
        agent_ms = {name: 1000 * cpu / steps_each for name, cpu in agent_cpu.items()}
        bare_ms = 1000 * statistics.median(bare_times)

    n_params = sum(p.numel() for p in TinyGPT().parameters())
    result: dict[str, Any] = {"bare_step_ms": bare_ms, "modes": {}, "agent_thread_ms_per_step": agent_ms}
    print(
        f"reference model: {n_params / 1e6:.2f} M parameters; bare step ≈ {bare_ms:.0f} ms; "
        f"{args.repeats} × {args.rounds} interleaved rounds\n"
    )
    print("| mode | step time / bare | repeats | agent thread CPU per step |")
    print("|---|---|---|---|")
    for name, kind, _ in modes:
        values = [r[name] for r in per_repeat]
        result["modes"][name] = statistics.median(values)
        thread = f"{agent_ms[name]:.2f} ms ({agent_ms[name] / bare_ms:.2%})" if kind == "gradsight" else "—"
        print(
            f"| {name} | {statistics.median(values):.3f}× | {' '.join(f'{v:.3f}' for v in values)} | {thread} |"
        )
    print(
        "\nThe agent thread's CPU is spent on these same 2 cores, and the round-robin spreads it over"
        "\nevery copy's step, so it is listed separately and added back below."
    )
    # Added time per step with the agent thread's CPU charged in full to its own copy.
    default_added = result["modes"]["gradsight default"] - 1 + agent_ms["gradsight default"] / bare_ms
    result["gradsight_default_added"] = default_added
    print(f"\nGradsight default, agent thread included: {default_added:+.1%} of a bare step")
    if have_wandb:
        wandb_added = result["modes"]["wandb.watch gradients log_freq=1"] - 1
        factor = wandb_added / default_added if default_added > 0 else math.inf
        result["wandb_added_over_gradsight_added"] = factor
        print(
            f"wandb.watch(log='gradients', log_freq=1): {wandb_added:+.1%} → Gradsight adds "
            + (f"{factor:.0f}× less time" if math.isfinite(factor) else "no measurable time")
        )
    if args.memory:
        steps = 60
        bare_peak, bare_steady = memory_mb(None, steps)
        full_peak, full_steady = memory_mb({"activations": True, "spectral_every": 10}, steps)
        result["memory_mb"] = {"bare": [bare_peak, bare_steady], "gradsight_all": [full_peak, full_steady]}
        print(
            f"\nhost memory over {steps} steps (peak / largest between steps): bare {bare_peak:.0f} / "
            f"{bare_steady:.0f} MB; Gradsight with everything on {full_peak:.0f} / {full_steady:.0f} MB "
            f"→ {full_peak - bare_peak:+.0f} / {full_steady - bare_steady:+.0f} MB"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""A tiny real data-parallel training, one process per rank, instrumented by the real agent.
Launched by the tests with ``torchrun`` (gloo on the CPU):

    torchrun --standalone --nproc-per-node 3 tests/distributed/ddp_train.py --steps 60 --fault none

Faults, injected on ``--fault-rank`` only (the healthy control is ``none``):

- ``data_seed``: that rank builds its dataset from another seed, so its targets come from a
  different function (a rank reading the wrong shard or a differently preprocessed copy);
- ``unsharded``: *every* rank reads the whole dataset in the same order (a plain sampler
  instead of ``DistributedSampler``): ranks compute the same gradient on the same batch;
- ``sleep``: that rank sleeps ``--sleep-s`` before each batch (a slow host's input pipeline);
- ``kill``: that rank SIGKILLs itself at ``--fault-step`` (the others then fail in the next
  all-reduce and exit);
- ``hang``: that rank blocks forever at ``--fault-step`` (a deadlocked loader); the other
  ranks hang in the all-reduce waiting for it while their agents keep heartbeating.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import signal
import threading
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, SequentialSampler, TensorDataset

import gradsight


def dataset(seed: int, n: int = 4096, dim: int = 16) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=g)
    w = torch.randn(dim, 1, generator=g) / math.sqrt(dim)
    y = torch.tanh(x @ w * 2) + 0.1 * torch.randn(n, 1, generator=g)
    return TensorDataset(x, y)


def reference_norm(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """This rank's gradient on its own batch, without DDP (what the agent must report as
    rank/<k>/grad_norm, measured before the all-reduce)."""
    replica = copy.deepcopy(module)
    nn.functional.mse_loss(replica(x), y).backward()
    grads = [p.grad for p in replica.parameters() if p.grad is not None]
    return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument(
        "--fault", default="none", choices=["none", "data_seed", "unsharded", "sleep", "kill", "hang"]
    )
    parser.add_argument("--fault-rank", type=int, default=1)
    parser.add_argument("--fault-step", type=int, default=20)
    parser.add_argument("--sleep-s", type=float, default=0.05)
    parser.add_argument("--project", default="distributed")
    parser.add_argument("--name", default="ddp")
    parser.add_argument("--run-id-file", type=Path)
    parser.add_argument("--wrap", default="ddp", choices=["ddp", "fsdp"], help="DDP, or FSDP2's fully_shard")
    parser.add_argument(
        "--reference-norm",
        action="store_true",
        help="also log ref_local_norm: the local gradient norm recomputed on a plain (non-DDP) replica",
    )
    args = parser.parse_args()

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)  # the model; DDP broadcasts rank 0's parameters anyway
    faulty = rank == args.fault_rank
    run = gradsight.init(project=args.project, name=args.name, config={"batch": args.batch, "world": world})
    if rank == 0 and args.run_id_file is not None:
        args.run_id_file.write_text(run.id)

    data = dataset(seed=7 if args.fault == "data_seed" and faulty else 0)
    if args.fault == "unsharded":
        sampler: torch.utils.data.Sampler[int] = SequentialSampler(data)
    else:
        sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True, seed=0)
    loader = DataLoader(data, batch_size=args.batch, sampler=sampler, drop_last=True)

    net = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 1))
    if args.wrap == "fsdp":
        from torch.distributed.fsdp import fully_shard

        for layer in (net[0], net[2]):
            fully_shard(layer)
        model: nn.Module = fully_shard(net)
    else:
        model = DistributedDataParallel(net)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    run.watch(model, opt)

    step, epoch = 0, 0
    while step < args.steps:
        if isinstance(sampler, DistributedSampler):
            sampler.set_epoch(epoch)
        for x, y in loader:
            if faulty and args.fault == "sleep":
                time.sleep(args.sleep_s)
            if faulty and step == args.fault_step:
                if args.fault == "kill":
                    time.sleep(1.5)  # let the agent flush what came before (≤ 1 flush interval)
                    os.kill(os.getpid(), signal.SIGKILL)
                if args.fault == "hang":
                    threading.Event().wait()  # forever: the test kills the job
            reference = {"ref_local_norm": reference_norm(net, x, y)} if args.reference_norm else {}
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            run.log({"loss": loss, **reference})
            step += 1
            if step >= args.steps:
                break
        epoch += 1
    run.finish()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()

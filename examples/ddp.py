"""Gradsight on a data-parallel job: every rank joins one run (docs/distributed.md).

    torchrun --standalone --nproc-per-node 4 examples/ddp.py --server http://127.0.0.1:8000
    torchrun --standalone --nproc-per-node 4 examples/ddp.py --slow-rank 2   # a straggler

Runs on the CPU with the gloo backend (NCCL and one GPU per rank on a GPU machine: set
--backend nccl). The dashboard shows the job's loss, every rank's local loss, local
gradient norm and step timings under rank/<k>/, and the gradient noise scale; with
--slow-rank the straggler rule names the slow rank and its host.
"""

from __future__ import annotations

import argparse
import math
import time

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

import gradsight


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", default=None)
    parser.add_argument("--backend", default="gloo")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--slow-rank", type=int, default=-1, help="this rank sleeps 50 ms per batch")
    args = parser.parse_args()

    dist.init_process_group(args.backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    run = gradsight.init(project="examples", name="ddp", config={"world_size": world}, server=args.server)

    g = torch.Generator().manual_seed(0)  # the same dataset on every rank; the sampler shards it
    x = torch.randn(8192, 32, generator=g)
    y = torch.tanh(x @ (torch.randn(32, 1, generator=g) / math.sqrt(32)))
    data = TensorDataset(x, y)
    sampler = DistributedSampler(data, shuffle=True, seed=0)
    loader = DataLoader(data, batch_size=32, sampler=sampler, drop_last=True)

    torch.manual_seed(0)
    model = DistributedDataParallel(nn.Sequential(nn.Linear(32, 64), nn.GELU(), nn.Linear(64, 1)))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    run.watch(model, opt)
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        for xb, yb in loader:
            if rank == args.slow_rank:
                time.sleep(0.05)
            loss = nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            run.log({"loss": loss})  # every rank: rank 0's is `loss`, each rank's is rank/<k>/loss
    if rank == 0:
        print(f"run {run.id}: {run.url}")
    run.finish()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()

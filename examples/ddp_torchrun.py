"""Distributed data parallel with Gradsight: the same four calls on every rank.

    torchrun --nproc_per_node 2 examples/ddp_torchrun.py --server http://127.0.0.1:8000

Every rank calls ``gradsight.init``/``watch``/``log``/``finish``; all ranks of one job join
one run, and the agent decides what each rank sends (docs/distributed.md). Here the two
processes use the gloo backend on the CPU and train on disjoint shards of a synthetic
regression task. Runs in a few seconds.
"""

from __future__ import annotations

import argparse

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

import gradsight


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=None, help="Gradsight server (default $GRADSIGHT_URL)")
    parser.add_argument("--project", default="examples")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()

    dist.init_process_group("gloo")  # torchrun sets RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT
    rank = dist.get_rank()
    torch.set_num_threads(1)  # two processes share the machine's cores
    torch.manual_seed(0)  # the same initial weights on every rank (DDP also broadcasts them)

    g = torch.Generator().manual_seed(0)
    x = torch.randn(2048, 16, generator=g)
    y = (x[:, :8].sum(1) - x[:, 8:].pow(2).sum(1) / 4).unsqueeze(1)
    data = TensorDataset(x, y)
    sampler = DistributedSampler(data, shuffle=True, seed=0)
    loader = DataLoader(data, batch_size=32, sampler=sampler)

    model = nn.Sequential(nn.Linear(16, 64), nn.GELU(), nn.Linear(64, 1))
    ddp = DistributedDataParallel(model)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=0.02, momentum=0.9)

    run = gradsight.init(
        project=args.project,
        name="ddp-gloo",
        config={"world_size": dist.get_world_size()},
        server=args.server,
    )
    run.watch(model, optimizer)  # the module inside DDP: parameter names without "module."
    if rank == 0:
        print(f"Run {run.id}: {run.url}", flush=True)

    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        for inputs, targets in loader:
            loss = nn.functional.mse_loss(ddp(inputs), targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # DDP all-reduces the gradients here
            optimizer.step()
            run.log({"loss": loss})
        if rank == 0:
            print(f"epoch {epoch}  loss {loss.item():.4f}", flush=True)

    run.finish()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()

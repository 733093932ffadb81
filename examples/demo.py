"""Gradsight demo: a small transformer that trains well, then blows up.

The bug is a common one: a linear warmup written as ``lr = peak * step / warmup`` without
the ``min(1, …)`` that should cap it, so the learning rate keeps growing after warmup. On
this post-LayerNorm transformer (the original Transformer layout, less forgiving than
pre-LN) the loss falls for a few hundred steps, then gradient norms spike and the loss blows
up back towards chance level (ln 64 ≈ 4.16). Open the dashboard while it runs.

    python examples/demo.py --server http://127.0.0.1:8000

Everything runs on the CPU in about a minute; the data is generated, nothing is downloaded.
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from torch import nn

import gradsight


class TinyGPT(nn.Module):
    def __init__(self, vocab: int, d_model: int, heads: int, layers: int, seq: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.pos = nn.Parameter(torch.zeros(seq, d_model))
        block = nn.TransformerEncoderLayer(
            d_model, heads, 4 * d_model, dropout=0.0, batch_first=True, norm_first=False
        )
        self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab, bias=False)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(seq))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids) + self.pos[: ids.shape[1]]
        x = self.blocks(x, mask=self.mask[: ids.shape[1], : ids.shape[1]], is_causal=True)
        return self.head(self.norm(x))


class MarkovText:
    """Token streams from a random sparse Markov chain: real structure for the model to learn."""

    def __init__(self, vocab: int, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        logits = torch.randn(vocab, vocab, generator=g) * 3.0
        self.probs = torch.softmax(logits, dim=-1)
        self.vocab = vocab
        self.g = g

    def batch(self, batch: int, seq: int) -> torch.Tensor:
        ids = torch.empty(batch, seq + 1, dtype=torch.long)
        ids[:, 0] = torch.randint(0, self.vocab, (batch,), generator=self.g)
        for t in range(seq):
            ids[:, t + 1] = torch.multinomial(self.probs[ids[:, t]], 1, generator=self.g).squeeze(1)
        return ids


def buggy_lr(step: int, peak: float, warmup: int) -> float:
    # BUG (deliberate): should be peak * min(1.0, (step + 1) / warmup).
    return peak * (step + 1) / warmup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=None, help="Gradsight server (default $GRADSIGHT_URL)")
    parser.add_argument("--project", default="demo")
    parser.add_argument("--steps", type=int, default=900)
    parser.add_argument("--peak-lr", type=float, default=3e-3)
    parser.add_argument("--warmup", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    vocab, seq, batch = 64, 32, 32
    data = MarkovText(vocab, seed=args.seed)
    model = TinyGPT(vocab, d_model=64, heads=4, layers=2, seq=seq)
    opt = torch.optim.AdamW(model.parameters(), lr=args.peak_lr, weight_decay=0.01)

    config = {
        "model": "TinyGPT",
        "d_model": 64,
        "layers": 2,
        "vocab": vocab,
        "seq": seq,
        "batch": batch,
        "optimizer": "AdamW",
        "betas": [0.9, 0.999],
        "peak_lr": args.peak_lr,
        "warmup": args.warmup,
        "norm": "post-LN",
    }
    run = gradsight.init(
        project=args.project,
        name=f"lr-warmup-bug-{time.strftime('%H%M%S')}",
        config=config,
        server=args.server,
    )
    run.watch(model, opt)
    print(f"Run {run.id}: watch it live at {run.url}", flush=True)

    for step in range(args.steps):
        for group in opt.param_groups:
            group["lr"] = buggy_lr(step, args.peak_lr, args.warmup)
        ids = data.batch(batch, seq)
        logits = model(ids[:, :-1])
        loss = nn.functional.cross_entropy(logits.reshape(-1, vocab), ids[:, 1:].reshape(-1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        run.log({"loss": loss, "lr": opt.param_groups[0]["lr"]})
        if step % 50 == 0:
            value = loss.item()
            print(f"step {step:4d}  loss {value:8.4f}  lr {opt.param_groups[0]['lr']:.2e}", flush=True)
            if not math.isfinite(value):
                print("loss is no longer finite: the run has diverged", flush=True)
    run.finish()
    print(f"Done. See {run.url}", flush=True)


if __name__ == "__main__":
    main()

"""``gradsight.integrations.transformers.GradsightCallback`` on a real HF ``Trainer`` with a tiny
GPT-2 built from a config (nothing downloaded), CPU, against a real embedded server."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import httpx
import torch
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

from gradsight.integrations.transformers import GradsightCallback
from tests.support.api import raw_series, wait_finished
from tests.support.embedded import Embedded


class Tokens(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    """Sequences of a repeating pattern with noise: something a tiny model can learn."""

    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        base = torch.arange(16).repeat(n, 1) * 3 % 31
        noise = torch.randint(0, 31, (n, 16), generator=g)
        self.ids = torch.where(torch.rand(n, 16, generator=g) < 0.1, noise, base)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


def tiny_gpt2() -> GPT2LMHeadModel:
    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(vocab_size=32, n_positions=16, n_embd=32, n_layer=2, n_head=2))


def arguments(out: Path, **overrides: Any) -> TrainingArguments:
    settings: dict[str, Any] = {
        "output_dir": str(out),
        "max_steps": 12,
        "per_device_train_batch_size": 4,
        "gradient_accumulation_steps": 2,
        "learning_rate": 1e-3,
        "lr_scheduler_type": "linear",
        "max_grad_norm": 0.5,
        "logging_steps": 1,
        "eval_strategy": "steps",
        "eval_steps": 6,
        "per_device_eval_batch_size": 8,
        "save_strategy": "no",
        "report_to": "none",
        "use_cpu": True,
        "disable_tqdm": True,
        "seed": 0,
    }
    return TrainingArguments(**{**settings, **overrides})


def test_steps_losses_gradients_and_eval_match_the_trainers_own_log(server: Embedded, tmp_path: Path) -> None:
    callback = GradsightCallback(project="hf", name="gpt2-tiny", server=server.url)
    trainer = Trainer(
        model=tiny_gpt2(),
        args=arguments(tmp_path),
        train_dataset=Tokens(96, 1),
        eval_dataset=Tokens(16, 2),
        callbacks=[callback],
    )
    trainer.train()
    history = trainer.state.log_history
    train_logs = {h["step"]: h for h in history if "loss" in h}
    eval_logs = {h["step"]: h for h in history if "eval_loss" in h}

    runs = httpx.get(f"{server.url}/api/v1/runs", params={"project": "hf"}).json()["items"]
    assert len(runs) == 1
    run = wait_finished(server.url, runs[0]["id"])
    assert run["config"]["trainer"]["gradient_accumulation_steps"] == 2
    assert run["config"]["model"]["n_layer"] == 2

    steps = list(range(1, 13))  # state.global_step after each update
    loss = raw_series(server.url, run["id"], "loss")
    assert sorted(loss) == sorted(train_logs) == steps
    for step in steps:
        assert math.isclose(loss[step], train_logs[step]["loss"], rel_tol=1e-5)
    grad_norm = raw_series(server.url, run["id"], "grad_norm")
    assert sorted(grad_norm) == steps
    for step in steps:  # the Trainer reports the norm before clipping, as the agent does
        assert math.isclose(grad_norm[step], train_logs[step]["grad_norm"], rel_tol=1e-4)
    assert max(grad_norm.values()) > 0.5  # clipping was active
    lr = raw_series(server.url, run["id"], "lr")
    assert sorted(lr) == steps and lr[1] == 1e-3 and lr[12] < lr[2] < lr[1]  # the linear decay
    for step in steps:  # the rate each update used, as the Trainer reports it
        assert math.isclose(lr[step], train_logs[step]["learning_rate"], rel_tol=1e-6)
    val = raw_series(server.url, run["id"], "val/loss")
    assert sorted(val) == sorted(eval_logs) == [6, 12]
    for step, entry in eval_logs.items():
        assert math.isclose(val[step], entry["eval_loss"], rel_tol=1e-6)
    keys = set(httpx.get(f"{server.url}/api/v1/runs/{run['id']}/keys").json()["items"])
    assert {
        "epoch",
        "val/runtime",
        "throughput/tokens_per_s",
        "grad_norm/transformer.h.0.attn.c_attn.weight",
    } <= keys
    assert not {"eval_loss", "learning_rate", "agent/errors"} & keys
    tokens = raw_series(server.url, run["id"], "throughput/tokens_per_s")
    step_s = raw_series(server.url, run["id"], "time/step_s")
    # Two micro-batches of 4 × 16 tokens per update.
    assert all(math.isclose(tokens[s] * step_s[s], 128, rel_tol=1e-6) for s in steps)

"""The Hugging Face ``Trainer`` with Gradsight: one callback, ``GradsightCallback``.

A tiny GPT-2, built from a config (nothing is downloaded), learns a synthetic token
language with gradient accumulation, clipping, a linear schedule and periodic evaluation.
Runs on the CPU in well under a minute.

    pip install "gradsight[transformers]"   # transformers and accelerate
    python examples/hf_trainer.py --server http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import tempfile

import torch
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

from gradsight.integrations.transformers import GradsightCallback


class CountingLanguage(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    """Sequences that count up modulo the vocabulary from a random start, with 10 % noise."""

    def __init__(self, n: int, seq: int, vocab: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        start = torch.randint(0, vocab, (n, 1), generator=g)
        ids = (start + torch.arange(seq)) % vocab
        noise = torch.randint(0, vocab, (n, seq), generator=g)
        self.ids = torch.where(torch.rand(n, seq, generator=g) < 0.1, noise, ids)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=None, help="Gradsight server (default $GRADSIGHT_URL)")
    parser.add_argument("--project", default="examples")
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()

    torch.manual_seed(0)
    vocab, seq = 64, 32
    model = GPT2LMHeadModel(GPT2Config(vocab_size=vocab, n_positions=seq, n_embd=64, n_layer=2, n_head=4))
    callback = GradsightCallback(project=args.project, name="hf-tiny-gpt2", server=args.server)
    with tempfile.TemporaryDirectory() as out:
        training = TrainingArguments(
            output_dir=out,
            max_steps=args.steps,
            per_device_train_batch_size=16,
            gradient_accumulation_steps=2,
            learning_rate=3e-3,
            lr_scheduler_type="linear",
            warmup_steps=max(1, args.steps // 10),
            max_grad_norm=1.0,
            logging_steps=1,  # the Trainer's loss every step (the agent's statistics are every step anyway)
            eval_strategy="steps",
            eval_steps=max(1, args.steps // 3),
            save_strategy="no",
            report_to="none",
            use_cpu=True,
            disable_tqdm=True,
        )
        trainer = Trainer(
            model=model,
            args=training,
            train_dataset=CountingLanguage(2048, seq, vocab, seed=0),
            eval_dataset=CountingLanguage(128, seq, vocab, seed=1),
            callbacks=[callback],
        )
        trainer.train()
    print(f"Done: {callback.url}", flush=True)


if __name__ == "__main__":
    main()

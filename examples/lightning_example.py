"""PyTorch Lightning with Gradsight: one callback, ``GradsightCallback``.

A small convolutional network learns to tell synthetic stripes from checkerboards, with
gradient accumulation, clipping and a validation loop. Runs on the CPU in well under a minute.

    pip install "gradsight[lightning]"      # lightning itself
    python examples/lightning_example.py --server http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
from typing import Any

import lightning.pytorch as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gradsight.integrations.lightning import GradsightCallback


def patterns(n: int, seed: int) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=g)
    grid = torch.arange(16)
    stripes = (grid.view(1, 16) // 2 % 2).expand(16, 16).float()
    checks = ((grid.view(16, 1) // 2 + grid.view(1, 16) // 2) % 2).float()
    images = torch.where(labels.view(n, 1, 1) == 1, checks, stripes) + 0.8 * torch.randn(
        n, 16, 16, generator=g
    )
    return TensorDataset(images.unsqueeze(1), labels)


class PatternNet(pl.LightningModule):
    def __init__(self, lr: float = 2e-3, channels: int = 8) -> None:
        super().__init__()
        self.save_hyperparameters()  # becomes the run's config
        self.net = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(channels, 2),
        )

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        images, labels = batch
        logits = self.net(images)
        loss = nn.functional.cross_entropy(logits, labels)
        self.log("train_acc", (logits.argmax(1) == labels).float().mean())  # forwarded as train_acc
        return loss  # recorded as `loss`, one value per optimizer step

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        images, labels = batch
        logits = self.net(images)
        self.log("val_loss", nn.functional.cross_entropy(logits, labels))  # recorded as val/loss
        self.log("val_acc", (logits.argmax(1) == labels).float().mean())  # recorded as val/acc

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=self.hparams.lr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=None, help="Gradsight server (default $GRADSIGHT_URL)")
    parser.add_argument("--project", default="examples")
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()

    torch.manual_seed(0)
    callback = GradsightCallback(project=args.project, name="lightning-patterns", server=args.server)
    trainer = pl.Trainer(
        accelerator="cpu",
        max_epochs=args.epochs,
        accumulate_grad_batches=2,
        gradient_clip_val=1.0,
        callbacks=[callback],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
    )
    train = DataLoader(patterns(1024, seed=0), batch_size=32, shuffle=True)
    val = DataLoader(patterns(256, seed=1), batch_size=128)
    trainer.fit(PatternNet(), train, val)
    print(f"Done: {trainer.global_step} steps, {callback.url}", flush=True)


if __name__ == "__main__":
    main()

"""Other tools' metric names → Gradsight's (ARCHITECTURE.md ⚑ Metric names).

Used by the framework callbacks (Lightning's ``val_loss``, the HF Trainer's ``eval_loss``)
and the TensorBoard importer (``train/loss``, ``lr-AdamW``, ``grad_2.0_norm_total``). Only
names whose meaning is unambiguous are mapped; everything else stays a user key, as given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Exact aliases (compared lower-case). The sources: PyTorch's SummaryWriter tutorials
# ("Loss/train"), Lightning's ``self.log`` conventions and LearningRateMonitor, the HF
# Trainer's TensorBoard/W&B callbacks ("train/loss", "train/learning_rate",
# "train/grad_norm", "eval/loss"), Keras ("epoch_loss", "epoch_learning_rate").
ALIASES: dict[str, frozenset[str]] = {
    "loss": frozenset(
        {"loss", "train/loss", "train_loss", "loss/train", "training_loss", "train/epoch_loss", "epoch_loss"}
    ),
    "val/loss": frozenset(
        {
            "val_loss",
            "val/loss",
            "valid_loss",
            "valid/loss",
            "validation_loss",
            "validation/loss",
            "eval_loss",
            "eval/loss",
            "loss/val",
            "loss/valid",
            "loss/validation",
            "validation/epoch_loss",
        }
    ),
    "lr": frozenset({"lr", "learning_rate", "train/learning_rate", "train/lr", "epoch_learning_rate"}),
    "grad_norm": frozenset({"grad_norm", "train/grad_norm", "gradient_norm", "grad_norm_total"}),
}
_ALIAS = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
# Lightning's LearningRateMonitor: "lr-AdamW" for one optimizer with one param group.
_LR_MONITOR = re.compile(r"^lr-[A-Za-z][A-Za-z0-9_]*$")
# Lightning's ``grad_norm(module, norm_type=2)``: "grad_2.0_norm_total", "grad_2.0_norm/<param>".
_LIGHTNING_GRAD_NORM = re.compile(r"^grad_2(?:\.0)?_norm(?:_total|/(?P<param>.+))$")
# val_acc, val/acc, eval_accuracy, validation/f1 … → val/acc …
_VALIDATION = re.compile(r"^(?:val|valid|validation|eval)[_/](?P<rest>.+)$", re.IGNORECASE)


def validation_name(name: str) -> str | None:
    """``val/<rest>`` for a validation metric's name (``val_loss`` → ``val/loss``), else None."""
    if name.lower() in ALIASES["val/loss"]:
        return "val/loss"
    match = _VALIDATION.match(name)
    return f"val/{match['rest']}" if match else None


def canonical(name: str) -> str | None:
    """The Gradsight metric a framework or TensorBoard name stands for, or None to keep it."""
    lowered = name.lower()
    if lowered in _ALIAS:
        return _ALIAS[lowered]
    if _LR_MONITOR.match(name):
        return "lr"
    grad = _LIGHTNING_GRAD_NORM.match(name)
    if grad:
        return f"grad_norm/{grad['param']}" if grad["param"] else "grad_norm"
    return validation_name(name)


def mapping(names: Iterable[str]) -> dict[str, str]:
    """{name: metric} for a set of names logged together (one TensorBoard run), mapping a name
    only when that is unambiguous: when no other name maps to the same metric and the metric
    is not itself one of the names. Unmapped names are absent (they are kept as they are)."""
    given = set(names)
    claims: dict[str, list[str]] = {}
    for name in given:
        target = canonical(name)
        if target is not None and target != name:
            claims.setdefault(target, []).append(name)
    return {
        sources[0]: target for target, sources in claims.items() if len(sources) == 1 and target not in given
    }

"""Other tools' names → Gradsight's, only where unambiguous."""

from __future__ import annotations

from gradsight.metric_names import canonical, mapping, validation_name


def test_common_names_map_to_the_contract() -> None:
    assert canonical("train/loss") == canonical("Loss/train") == canonical("train_loss") == "loss"
    assert canonical("eval/loss") == canonical("val_loss") == canonical("Loss/val") == "val/loss"
    assert canonical("train/learning_rate") == canonical("lr-AdamW") == "lr"
    assert canonical("grad_2.0_norm_total") == canonical("train/grad_norm") == "grad_norm"
    assert canonical("grad_2.0_norm/layer.0.weight") == "grad_norm/layer.0.weight"
    assert canonical("eval_accuracy") == "val/accuracy"
    assert canonical("accuracy") is None and canonical("lr-AdamW/pg1") is None
    assert validation_name("valid/f1") == "val/f1" and validation_name("interval_s") is None


def test_ambiguous_names_keep_their_own() -> None:
    # Two tags claim `loss`: neither is renamed.
    assert mapping(["train/loss", "train_loss", "val_loss"]) == {"val_loss": "val/loss"}
    # The target is itself a tag: the other keeps its name.
    assert mapping(["loss", "train/loss"]) == {}
    # Lightning's LearningRateMonitor with two optimizers: lr-Adam and lr-SGD.
    assert mapping(["lr-Adam", "lr-SGD"]) == {}
    assert mapping(["lr-Adam"]) == {"lr-Adam": "lr"}

"""Per-layer views the layer rules share: which parameters are layer weights (not biases,
norms or embeddings), their element counts, and per-element (RMS) magnitudes."""

from __future__ import annotations

import numpy as np

from gradsight_server.diagnosis.signals import RunData, Series

MIN_ELEMENTS = 64  # smaller tensors (biases, norm scales of tiny layers) are too noisy to compare


def numel(data: RunData) -> dict[str, int]:
    raw = data.metadata.get("param_numel") or {}
    return {str(k): int(v) for k, v in raw.items() if isinstance(v, (int, float))}


def is_layer_weight(name: str, sizes: dict[str, int], embeddings: set[str]) -> bool:
    """A Linear/Conv/attention weight: named ``…weight``, big enough, not an embedding table or a
    normalisation scale."""
    lowered = name.lower()
    return (
        lowered.endswith("weight")
        and name not in embeddings
        and sizes.get(name, 0) >= MIN_ELEMENTS
        and not any(tag in lowered for tag in ("norm", "ln_", ".ln", "bn"))
    )


def layer_weights(data: RunData, family: str) -> dict[str, Series]:
    """``family`` (e.g. ``grad_norm/``) restricted to layer weights, in model order."""
    sizes = numel(data)
    embeddings = set(data.metadata.get("embeddings") or [])
    return {n: s for n, s in data.family(family).items() if is_layer_weight(n, sizes, embeddings)}


def rms(series: Series, elements: int) -> Series:
    """A norm series as a per-element root mean square."""
    return Series(series.steps, series.values / np.sqrt(max(1, elements)))

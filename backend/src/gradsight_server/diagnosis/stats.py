"""Robust, scale-free statistics the rules share (RULES.md principle 1: compare a signal with
its own history — median/MAD, EMA — rather than with absolute thresholds)."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from gradsight_server.diagnosis.signals import F64

MAD_TO_SIGMA = 1.4826  # MAD × 1.4826 estimates σ for Gaussian data


def ema(values: F64, span: float) -> F64:
    """Exponential moving average (α = 2/(span+1)); NaN/Inf points are skipped, not spread."""
    alpha = 2.0 / (span + 1.0)
    out = np.empty_like(values)
    acc = np.nan
    for i, v in enumerate(values):
        if np.isfinite(v):
            acc = v if not np.isfinite(acc) else acc + alpha * (v - acc)
        out[i] = acc
    return out


def trailing_median(values: F64, window: int) -> F64:
    """Median of each point and the ``window − 1`` before it (fewer at the start): a smoother
    that isolated spikes cannot move."""
    window = max(1, window)
    padded = np.r_[np.full(window - 1, np.nan), values]
    with np.errstate(all="ignore"):
        return np.asarray(np.nanmedian(sliding_window_view(padded, window), axis=1), dtype=np.float64)


def trailing_median_mad(values: F64, window: int) -> tuple[F64, F64]:
    """Median and MAD of the ``window`` points *before* each point (NaN until enough).
    Non-finite values are ignored."""
    n = values.size
    med = np.full(n, np.nan)
    mad = np.full(n, np.nan)
    if n <= window:
        return med, mad
    views = sliding_window_view(np.where(np.isfinite(values), values, np.nan), window)[:-1]
    m = np.nanmedian(views, axis=1)
    med[window:] = m
    mad[window:] = np.nanmedian(np.abs(views - m[:, None]), axis=1)
    return med, mad


def robust_z(values: F64, window: int, floor: float = 0.0) -> F64:
    """(x − trailing median) / (1.4826 · trailing MAD). ``floor`` bounds the scale from below
    (in the units of ``values``) so a perfectly flat history does not make every wiggle huge."""
    med, mad = trailing_median_mad(values, window)
    scale = np.maximum(MAD_TO_SIGMA * mad, floor)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (values - med) / scale
    z[~np.isfinite(z) & np.isfinite(values) & np.isfinite(med) & (values == med)] = 0.0
    return z


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end] index pairs (inclusive) of consecutive True values."""
    if not mask.any():
        return []
    padded = np.r_[False, mask.astype(bool), False]
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def theil_sen(x: F64, y: F64, max_points: int = 200) -> float:
    """Median of pairwise slopes: a trend robust to outliers. Subsampled to ``max_points``."""
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size < 3:
        return float("nan")
    if x.size > max_points:
        idx = np.linspace(0, x.size - 1, max_points).astype(int)
        x, y = x[idx], y[idx]
    i, j = np.triu_indices(x.size, k=1)
    dx = x[j] - x[i]
    ok = dx != 0
    return float(np.median((y[j] - y[i])[ok] / dx[ok])) if ok.any() else float("nan")


def nice(value: float, digits: int = 1) -> float:
    """Round to ``digits`` significant digits (1e-3, 2e-4, 0.3): numbers people type."""
    if value == 0 or not np.isfinite(value):
        return value
    # Through the decimal string, so 9e-4 is not 0.0009000000000000001 in the JSON.
    return float(f"{value:.{digits}g}")


def fmt(value: float) -> str:
    """Compact human formatting for summaries: 3.2e-04, 0.0123, 12.3."""
    if not np.isfinite(value):
        return str(value)
    if value != 0 and (abs(value) < 1e-2 or abs(value) >= 1e4):
        return f"{value:.2g}"
    return f"{value:.3g}"

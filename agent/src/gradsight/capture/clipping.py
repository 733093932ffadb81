"""Seeing ``torch.nn.utils.clip_grad_norm_`` without a change to the user's loop.

``grad_norm`` must be the norm *before* clipping, but an optimizer pre-hook only ever sees
clipped gradients. So while a run watches a model, ``clip_grad_norm_`` is replaced (on
``torch.nn.utils`` and ``torch.nn.utils.clip_grad``, the attributes Lightning, Hugging Face
Accelerate and plain loops call) by a wrapper that lets each watcher measure the gradients
first, calls the original, and reports the norm it returned and ``max_norm``.

A loop that imported the function before ``watch`` (``from torch.nn.utils import
clip_grad_norm_``) holds the original: use ``gradsight.clip_grad_norm_`` there instead.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any, Protocol

import torch
import torch.nn.utils
import torch.nn.utils.clip_grad


class ClipListener(Protocol):
    def before_clip(self, params: list[torch.Tensor]) -> None: ...

    def after_clip(self, params: list[torch.Tensor], max_norm: float, total: torch.Tensor) -> None: ...


_lock = threading.Lock()
_listeners: list[ClipListener] = []
_original: Any = None


def clip_grad_norm_(
    parameters: torch.Tensor | Iterable[torch.Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> torch.Tensor:
    """``torch.nn.utils.clip_grad_norm_``, observed by Gradsight (same arguments and result)."""
    params = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
    listeners = list(_listeners)
    for listener in listeners:
        listener.before_clip(params)  # guarded by the watcher: never raises
    original = _original or torch.nn.utils.clip_grad.clip_grad_norm_
    total: torch.Tensor = original(params, max_norm, norm_type, error_if_nonfinite, foreach)
    for listener in listeners:
        listener.after_clip(params, float(max_norm), total)
    return total


def attach(listener: ClipListener) -> None:
    global _original
    with _lock:
        if _original is None:
            _original = torch.nn.utils.clip_grad.clip_grad_norm_
            torch.nn.utils.clip_grad_norm_ = clip_grad_norm_
            torch.nn.utils.clip_grad.clip_grad_norm_ = clip_grad_norm_
        _listeners.append(listener)


def detach(listener: ClipListener) -> None:
    global _original
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)
        if not _listeners and _original is not None:
            torch.nn.utils.clip_grad_norm_ = _original
            torch.nn.utils.clip_grad.clip_grad_norm_ = _original
            _original = None

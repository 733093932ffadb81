"""``adam_epsilon_dominance``: in a large share of a layer's elements, Adam's ε — not the
gradient — sets the step (√v̂ < 10·ε, the agent's ``eps_frac/<p>``).

Wortsman et al. show gradient RMS shrinking as models scale until it nears ε = 1e-8 and the
updates shrink with it; they and OLMo 2 lower ε (to 1e-15 and 1e-8 from larger defaults);
Adam-atan2 removes ε altogether. Over ``THRESHOLD`` (ours: 20 %) of the elements in layers
holding at least ``SHARE`` of the parameters, held for ``HOLD`` samples."""

from __future__ import annotations

import numpy as np

from gradsight_server.diagnosis import references as ref
from gradsight_server.diagnosis.layers import numel
from gradsight_server.diagnosis.model import Finding, Recommendation
from gradsight_server.diagnosis.signals import RunData
from gradsight_server.diagnosis.stats import fmt, nice

RULE = "adam_epsilon_dominance"
SIGNALS = ("eps_frac/", "grad_norm/")
THRESHOLD = 0.2
SHARE = 0.25
HOLD = 3


def evaluate(data: RunData) -> list[Finding]:
    sizes = numel(data)
    hit: dict[str, float] = {}
    first_step, last_step = None, None
    for name, series in data.family("eps_frac/").items():
        s = series.finite()
        if len(s) >= HOLD and (s.values[-HOLD:] > THRESHOLD).all():
            hit[name] = float(s.values[-1])
            step = int(s.steps[-HOLD])
            first_step = step if first_step is None else min(first_step, step)
            last_step = int(s.steps[-1]) if last_step is None else max(last_step, int(s.steps[-1]))
    if not hit or first_step is None or last_step is None:
        return []
    total = sum(sizes.get(n, 1) for n in data.family("eps_frac/"))
    covered = sum(sizes.get(n, 1) for n in hit) / max(1, total)
    if covered < SHARE:
        return []
    _, group = data.optimizer()
    eps = group.get("eps")
    recs = [_epsilon_advice(data, set(hit), eps if isinstance(eps, (int, float)) else None)]
    return [
        Finding(
            rule=RULE,
            subject="optimizer",
            severity="warning",
            open=True,
            first_step=first_step,
            last_step=last_step,
            summary=(
                f"Adam's ε dominates the update in {len(hit)} layer(s) holding {covered:.0%} of the parameters: "
                f"up to {max(hit.values()):.0%} of their elements have √v̂ < 10·ε"
                + (f" (ε = {eps:g})" if isinstance(eps, (int, float)) else "")
                + "."
            ),
            evidence={
                "signal": "eps_frac/<p>",
                "threshold": THRESHOLD,
                "parameter_share": covered,
                "layers": {n: round(v, 4) for n, v in hit.items()},
                "eps": eps,
            },
            recommendations=tuple(recs),
        )
    ]


def _epsilon_advice(data: RunData, affected: set[str], eps: float | None) -> Recommendation:
    """ε two orders of magnitude under the typical gradient RMS of the affected layers."""
    sizes = numel(data)
    rms = [
        float(np.median(s.finite().values[-5:])) / np.sqrt(sizes[n])
        for n, s in data.family("grad_norm/").items()
        if n in affected and n in sizes and len(s.finite())
    ]
    target = nice(0.01 * float(np.median(rms))) if rms else None
    if target is not None and eps is not None:
        target = min(target, eps / 10)
    detail = (
        f"ε {fmt(eps) if eps is not None else '(current)'} → {fmt(target)}: the layers' gradients are ~{fmt(100 * target)} "
        "per element, so ε should sit two orders of magnitude below that."
        if target is not None
        else "Lower ε by several orders of magnitude (Wortsman et al. use 1e-15)."
    )
    return Recommendation(
        action="Lower Adam's ε",
        detail=detail + " Alternatively Adam-atan2 removes ε entirely.",
        params={"eps": {"from": eps, "to": target}, **({"code": f"eps={target:g}"} if target else {})},
        references=(ref.WORTSMAN, ref.OLMO2),
    )

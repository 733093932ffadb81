"""``rank_collapse``: a layer's weight matrix collapses towards rank one.

Stable rank ‖W‖²_F/σ²_max measures how many directions carry the matrix's energy
(WeightWatcher reports it as a scale metric). Trained layers usually end below their random
initialisation, so a fall alone is normal; a collapse is a fall to under ``SHARE`` of the
first measurement *and* below ``FLOOR`` ≈ 2 (one or two directions left), in layer weights
only — embeddings and bare parameters (learned positions) legitimately become low-rank. High
learning rates and attention entropy collapse drive it (Zhai et al.'s σReparam bounds the
spectral norm to prevent the latter)."""

from __future__ import annotations

from gradsight_server.diagnosis import advice
from gradsight_server.diagnosis import references as ref
from gradsight_server.diagnosis.layers import layer_weights
from gradsight_server.diagnosis.model import Finding, Recommendation
from gradsight_server.diagnosis.signals import RunData
from gradsight_server.diagnosis.stats import fmt

RULE = "rank_collapse"
SIGNALS = ("spectral/stable_rank/", "lr")
SHARE = 0.25
FLOOR = 2.0


def evaluate(data: RunData) -> list[Finding]:
    collapsed = {}
    for name, series in layer_weights(data, "spectral/stable_rank/").items():
        s = series.finite()
        if len(s) < 2:
            continue
        first, last = float(s.values[0]), float(s.values[-1])
        if last < FLOOR and last < SHARE * first:
            collapsed[name] = (first, last, int(s.steps[0]), int(s.steps[-1]))
    if not collapsed:
        return []
    recs: list[Recommendation] = []
    lower = advice.lower_lr(data, 0.3, "large steps concentrate the weights on their top singular direction")
    if lower:
        recs.append(lower)
    recs.append(
        Recommendation(
            action="Bound the spectral norm",
            detail=(
                "Reparameterise the affected layers with σReparam (W' = γ·W/σ_max(W)) or add normalisation "
                "around them; check that weight decay is not zero for these matrices."
            ),
            references=(ref.ZHAI, ref.WEIGHTWATCHER),
        )
    )
    worst = min(collapsed, key=lambda n: collapsed[n][1])
    first, last, _, _ = collapsed[worst]
    return [
        Finding(
            rule=RULE,
            subject="weights",
            severity="warning",
            open=True,
            first_step=min(v[2] for v in collapsed.values()),
            last_step=max(v[3] for v in collapsed.values()),
            summary=(
                f"{len(collapsed)} layer(s) collapsed towards rank one: {worst}'s stable rank fell from "
                f"{fmt(first)} to {fmt(last)}."
            ),
            evidence={
                "signal": "spectral/stable_rank/<p>",
                "share": SHARE,
                "floor": FLOOR,
                "layers": {n: {"first": v[0], "last": v[1]} for n, v in collapsed.items()},
            },
            recommendations=tuple(recs),
        )
    ]

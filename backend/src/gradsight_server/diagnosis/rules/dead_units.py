"""``dead_units``: a ReLU layer with most of its units inactive on every sample of the window.

SageMaker Debugger's DeadRelu calls a unit dead when active < 1 % of the time and a layer
unhealthy past 50 % dead units; DeepDiagnosis uses ≥ 70 % of outputs ≤ 0; AutoTrainer a
zero-gradient share ≥ 0.7. The agent's ``act/dead_frac/<m>`` is the strict form (inactive on
every sample of the window). Held for ``HOLD`` windows, over ``THRESHOLD``."""

from __future__ import annotations

from gradsight_server.diagnosis import advice
from gradsight_server.diagnosis import references as ref
from gradsight_server.diagnosis.model import Finding, Recommendation
from gradsight_server.diagnosis.signals import RunData

RULE = "dead_units"
SIGNALS = ("act/dead_frac/", "lr")
THRESHOLD = 0.5
HOLD = 2


def evaluate(data: RunData) -> list[Finding]:
    dead = {}
    for name, series in data.family("act/dead_frac/").items():
        recent = series.finite()
        if len(recent) >= HOLD and (recent.values[-HOLD:] > THRESHOLD).all():
            over = recent.values > THRESHOLD
            first = len(over) - 1
            while first > 0 and over[first - 1]:
                first -= 1
            dead[name] = (float(recent.values[-1]), int(recent.steps[first]), int(recent.steps[-1]))
    if not dead:
        return []
    worst = max(dead, key=lambda n: dead[n][0])
    recs = [
        Recommendation(
            action="Revive the units",
            detail=(
                "Use an activation with a gradient below zero (LeakyReLU 0.01, GELU, SiLU/ELU), He "
                "initialisation and zero (not negative) biases, and normalisation before the activation; "
                "SGD with a too-high learning rate also kills ReLUs — lower it if the units died early."
            ),
            params={"code": "nn.LeakyReLU(0.01)"},
            references=(ref.HE_INIT, ref.SMD, ref.AUTOTRAINER),
        )
    ]
    lower = advice.lower_lr(
        data, 0.5, "a high learning rate can push ReLU pre-activations permanently negative"
    )
    if lower:
        recs.append(lower)
    return [
        Finding(
            rule=RULE,
            subject="activations",
            severity="warning",
            open=True,
            first_step=min(v[1] for v in dead.values()),
            last_step=max(v[2] for v in dead.values()),
            summary=(
                f"{len(dead)} activation layer(s) have more than {THRESHOLD:.0%} dead units; {worst} has "
                f"{dead[worst][0]:.0%} of its units inactive on every sample."
            ),
            evidence={
                "signal": "act/dead_frac/<m>",
                "threshold": THRESHOLD,
                "layers": {n: round(v[0], 4) for n, v in dead.items()},
            },
            recommendations=tuple(recs),
        )
    ]

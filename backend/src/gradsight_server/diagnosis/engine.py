"""Run every rule on a run's data, and turn findings into changes to its stored diagnoses.

Both steps are pure: :func:`evaluate` maps data to findings; :func:`reconcile` maps (stored
diagnoses, findings) to a plan of creates and updates. The service applies the plan.

Lifecycle (RULES.md principle 2): a diagnosis is matched to a finding by (rule, subject).
An open diagnosis stays open while its rule keeps finding the problem, and is resolved when
the rule stops finding it (or reports the episode over). A finding of an episode that
already ended (a spike the run recovered from) is stored as resolved, once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

from gradsight_server.diagnosis.model import SEVERITY_RANK, Finding
from gradsight_server.diagnosis.rules import RULES
from gradsight_server.diagnosis.signals import RunData

log = logging.getLogger(__name__)

# A symptom rule, and the rules that explain it: while one of those is open at warning or
# above, the symptom is reported as an observation pointing at its cause rather than as a
# second alarm for the same problem.
EXPLAINED_BY: dict[str, frozenset[str]] = {
    "loss_plateau": frozenset(
        {
            "lr_too_low",
            "vanishing_gradients",
            "dead_units",
            "adam_epsilon_dominance",
            "divergence",
            "lr_too_high",
            "loss_scale_collapse",
            "rank_collapse",
            "nonfinite_gradients",
        }
    ),
    "loss_spike": frozenset({"divergence", "nonfinite_gradients"}),
    "grad_spike": frozenset({"exploding_gradients", "nonfinite_gradients"}),
}


def evaluate(data: RunData) -> list[Finding]:
    """All rules' findings. A rule that raises is logged and skipped: one broken rule must not
    hide the others' diagnoses."""
    findings: list[Finding] = []
    for rule, fn in RULES.items():
        try:
            findings.extend(fn(data))
        except Exception:
            log.exception("rule %s failed on run %s", rule, data.run_id)
    return explain(findings)


def explain(findings: list[Finding]) -> list[Finding]:
    causes = {f.rule for f in findings if f.open and SEVERITY_RANK[f.severity] >= SEVERITY_RANK["warning"]}
    out = []
    for finding in findings:
        because = sorted(EXPLAINED_BY.get(finding.rule, frozenset()) & causes)
        if because and finding.severity != "info":
            out.append(
                replace(
                    finding,
                    severity="info",
                    summary=f"{finding.summary} (a symptom: see {', '.join(because)})",
                    evidence={**finding.evidence, "explained_by": because},
                )
            )
        else:
            out.append(finding)
    return out


@dataclass(frozen=True)
class Stored:
    """What reconciliation needs to know of a stored diagnosis."""

    pk: int
    rule: str
    subject: str
    status: str
    first_step: int | None


@dataclass
class Plan:
    create: list[tuple[Finding, str]] = field(default_factory=list)
    """(finding, status) to insert."""
    update: list[tuple[int, Finding, str]] = field(default_factory=list)
    """(pk, finding, status) to overwrite."""
    resolve: list[int] = field(default_factory=list)
    """Open diagnoses whose rule no longer finds the problem."""

    @property
    def changed(self) -> bool:
        return bool(self.create or self.update or self.resolve)

    def opened(self) -> list[Finding]:
        return [f for f, status in self.create if status == "open"]


def reconcile(stored: list[Stored], findings: list[Finding]) -> Plan:
    plan = Plan()
    open_by_key = {(s.rule, s.subject): s for s in stored if s.status == "open"}
    resolved_keys = {(s.rule, s.subject, s.first_step) for s in stored if s.status == "resolved"}
    matched: set[int] = set()
    for finding in findings:
        status = "open" if finding.open else "resolved"
        current = open_by_key.get(finding.key)
        if current is not None:
            plan.update.append((current.pk, finding, status))
            matched.add(current.pk)
        elif finding.open or (finding.rule, finding.subject, finding.first_step) not in resolved_keys:
            plan.create.append((finding, status))
    plan.resolve = [s.pk for s in open_by_key.values() if s.pk not in matched]
    return plan


def as_row(finding: Finding, status: str) -> dict[str, Any]:
    """The stored columns of a finding (the diagnosis contract's fields)."""
    return {
        "rule": finding.rule,
        "subject": finding.subject,
        "severity": finding.severity,
        "status": status,
        "first_step": finding.first_step,
        "last_step": finding.last_step,
        "summary": finding.summary,
        "evidence": _jsonable(finding.evidence),
        "recommendations": [_jsonable(r.as_dict()) for r in finding.recommendations],
    }


def _jsonable(value: Any) -> Any:
    """numpy scalars and non-finite floats → JSON-safe values (NaN/Inf as the contract's strings)."""
    import math

    import numpy as np

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isfinite(f):
            return f
        return "NaN" if math.isnan(f) else ("Infinity" if f > 0 else "-Infinity")
    if isinstance(value, np.bool_):
        return bool(value)
    return value

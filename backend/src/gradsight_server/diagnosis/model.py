"""What rules produce. Findings become diagnoses (ARCHITECTURE.md ⚑ diagnosis shape)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class Reference:
    title: str
    url: str

    def as_dict(self) -> dict[str, str]:
        return {"title": self.title, "url": self.url}


@dataclass(frozen=True)
class Recommendation:
    action: str
    """Short imperative: "Lower the peak learning rate"."""
    detail: str
    """Why, with this run's numbers."""
    params: dict[str, Any] = field(default_factory=dict)
    """The concrete values: {"lr": {"from": 3e-3, "to": 1e-3}}; "code" holds a line to paste."""
    references: tuple[Reference, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "detail": self.detail,
            "params": self.params,
            "references": [r.as_dict() for r in self.references],
        }


@dataclass(frozen=True)
class Finding:
    """One rule's verdict about one subject of a run (a layer, the whole run, a spike event).

    ``open`` findings are live problems; ``open=False`` describes an episode that has ended
    (a spike the run recovered from): it is stored as a resolved diagnosis.
    """

    rule: str
    subject: str
    severity: Severity
    open: bool
    first_step: int
    last_step: int
    summary: str
    evidence: dict[str, Any]
    recommendations: tuple[Recommendation, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return self.rule, self.subject

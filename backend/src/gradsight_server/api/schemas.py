"""Request and response models (they also document the OpenAPI schema)."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

RUN_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"
MAX_JSON_DEPTH = 32
MAX_JSON_BYTES = 1_000_000
Status = Literal["running", "finished", "crashed"]
Severity = Literal["info", "warning", "critical"]


def check_json_document(value: Any, field: str) -> Any:
    """Config and metadata are stored as JSON(B): refuse what the databases cannot hold
    (non-finite floats, NUL characters), documents nested deeper than 32 levels and ones
    over 1 MB, with an error rather than a 500 from the database."""
    size = 0

    def walk(node: Any, depth: int) -> None:
        nonlocal size
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"{field} is nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(node, dict):
            for key, child in node.items():
                walk(key, depth + 1)
                walk(child, depth + 1)
        elif isinstance(node, list):
            for child in node:
                walk(child, depth + 1)
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise ValueError(f"{field} may not hold NaN or Infinity; send them as strings")
            size += 24
        elif isinstance(node, str):
            if "\x00" in node:
                raise ValueError(f"{field} may not hold NUL characters")
            size += len(node) + 2
        else:
            size += 8
        if size > MAX_JSON_BYTES:
            raise ValueError(f"{field} is larger than {MAX_JSON_BYTES} bytes")

    walk(value, 0)
    return value


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=RUN_ID_PATTERN, description="client-made run id (UUID, ULID, …)")
    project: str = Field(min_length=1, max_length=128, pattern=NAME_PATTERN)
    name: str | None = Field(default=None, min_length=1, max_length=256, pattern=NAME_PATTERN)
    config: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("config", "metadata")
    @classmethod
    def _storable(cls, value: dict[str, Any], info: Any) -> dict[str, Any]:
        result: dict[str, Any] = check_json_document(value, info.field_name)
        return result


class Health(BaseModel):
    critical: int
    warning: int
    info: int


class RunOut(BaseModel):
    id: str
    project: str
    name: str
    status: Status
    config: dict[str, Any]
    metadata: dict[str, Any]
    created_at: str
    updated_at: str
    finished_at: str | None
    last_step: int | None
    health: Health


class RunList(BaseModel):
    items: list[RunOut]
    total: int


class KeyList(BaseModel):
    items: list[str]


Number = float | int | str | None


class SeriesOut(BaseModel):
    key: str
    raw: bool
    step: list[int]
    min: list[Number]
    max: list[Number]
    mean: list[Number]
    last: list[Number]
    count: list[int]
    nonfinite: list[int]


class SeriesResponse(BaseModel):
    run_id: str
    series: list[SeriesOut]


class CompareRun(BaseModel):
    run_id: str
    series: list[SeriesOut]


class CompareResponse(BaseModel):
    runs: list[CompareRun]


class MatrixResponse(BaseModel):
    family: str
    layers: list[str]
    step: list[int]
    values: list[list[Number]]


class Recommendation(BaseModel):
    action: str
    detail: str
    params: dict[str, Any]
    references: list[Any]


class DiagnosisOut(BaseModel):
    id: str
    rule: str
    severity: Severity
    status: Literal["open", "resolved"]
    first_step: int | None
    last_step: int | None
    summary: str
    evidence: dict[str, Any]
    recommendations: list[Recommendation]


class DiagnosisList(BaseModel):
    items: list[DiagnosisOut]


class BatchAccepted(BaseModel):
    batch_id: str
    status: Literal["accepted", "duplicate", "heartbeat"]
    points: int
    inserted: int
    """Points this request added (all of them, for a new batch)."""
    duplicates: int
    """Points the server already had (all of them, for a re-sent batch id)."""


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str
    store: Literal["sqlite", "postgresql"]
    queue: Literal["inprocess", "celery"]
    schema_revision: str | None


class ErrorOut(BaseModel):
    detail: Any

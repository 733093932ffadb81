"""Matching a column against many ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement


def any_of(session: Session, column: Any, values: Sequence[int]) -> list[ColumnElement[bool]]:
    """Criteria matching ``column`` against ``values``, one statement per criterion: a single
    array parameter on PostgreSQL (rendering and parsing an IN list of thousands of bound ids
    cost more than running the statement: ~1.4 s of a 10 s compaction profile), IN lists of 500
    on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        return [column == any_(bindparam(None, list(values), type_=ARRAY(BigInteger())))]
    return [column.in_(values[at : at + 500]) for at in range(0, len(values), 500)]

"""JSON Schema of a batch's JSON form (docs/wire-format.md), published in the OpenAPI
document so clients and fuzzers know the body. The decoder is the authority; this schema
describes the same rules."""

from __future__ import annotations

from typing import Any

_NUMBER = {"oneOf": [{"type": "number"}, {"enum": ["NaN", "Infinity", "-Infinity"]}]}
_STEPS = {
    "type": "array",
    "items": {"type": "integer", "minimum": 0, "maximum": 2**53 - 1},
    "description": "strictly increasing",
}
_KEY = {"type": "string", "minLength": 1, "maxLength": 256, "pattern": "^[^_\\s,][^\\x00-\\x1f\\x7f,]*$"}

BATCH_V1: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["v", "run_id", "batch_id"],
    "properties": {
        "v": {"const": 1},
        "run_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
        "batch_id": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"},
        "final": {"type": "boolean"},
        "layers": {"type": "array", "items": _KEY},
        "wall": {
            "type": "object",
            "additionalProperties": False,
            "required": ["steps", "time"],
            "properties": {"steps": _STEPS, "time": {"type": "array", "items": {"type": "number"}}},
        },
        "blocks": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["keys", "steps", "values"],
                "properties": {
                    "keys": {"type": "array", "minItems": 1, "items": _KEY},
                    "steps": {**_STEPS, "minItems": 1},
                    "values": {"type": "array", "items": {"type": "array", "items": _NUMBER}},
                    "counts": {
                        "type": "array",
                        "items": {"type": "array", "items": {"type": "integer", "minimum": 1}},
                    },
                },
            },
        },
    },
}

SECURITY_SCHEMES: dict[str, Any] = {
    "apiKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "A project API key (agents: GRADSIGHT_API_KEY). Not needed in local mode.",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "gradsight_session",
        "description": "Dashboard sign-in (POST /auth/login); changes also need the X-CSRF-Token header.",
    },
}

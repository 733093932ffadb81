"""JSON rendering with orjson. Non-finite floats never reach here as floats: services turn
them into the strings "NaN"/"Infinity"/"-Infinity" (evidence) or null (no value)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse


class FastJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)

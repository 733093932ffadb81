"""Client-made identifiers: runs (ULID) and agent processes."""

from __future__ import annotations

import os
import secrets
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_run_id() -> str:
    """A ULID: 48-bit millisecond time + 80 random bits, 26 Crockford base-32 characters.
    Sorts by creation time and needs no server round trip."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def new_agent_id() -> str:
    """Identifies one agent process in batch ids (``<agent id>:<sequence>``)."""
    return f"{os.getpid():x}-{secrets.token_hex(4)}"

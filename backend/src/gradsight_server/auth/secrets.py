"""Passwords, session tokens and API keys.

Passwords are hashed with scrypt (stdlib, memory-hard: n=2**14, r=8 costs 16 MiB and about
50 ms per check here, which is also what bounds guessing). Session tokens and API keys are
256-bit random strings, so a single SHA-256 is all they need at rest: nobody brute-forces
2**256, and a fast hash keeps the per-request lookup cheap.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MAX_PASSWORD_LENGTH = 1024
"""scrypt's cost does not grow with the input, but hashing megabyte passwords is still waste."""
KEY_PREFIX = "gsk_"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=64 * 1024 * 1024
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        got = hashlib.scrypt(
            password.encode(),
            salt=_unb64(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=64 * 1024 * 1024,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
"""Checked against when the user does not exist, so a wrong name costs as long as a wrong
password and response times do not tell which names exist."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def new_api_key() -> str:
    """``gsk_`` + 43 URL-safe characters (256 bits). The prefix makes leaked keys greppable
    (secret scanners) and tells a key from a session token."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def display_prefix(key: str) -> str:
    return key[: len(KEY_PREFIX) + 6]

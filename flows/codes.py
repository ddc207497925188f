"""One-time confirmation codes: 6 digits not starting with 0, kept only as a salted hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_code() -> str:
    return str(100_000 + secrets.randbelow(900_000))


def new_salt() -> str:
    return secrets.token_hex(16)


def hash_code(code: str, salt: str) -> str:
    return hmac.new(bytes.fromhex(salt), code.encode("ascii"), hashlib.sha256).hexdigest()


def code_matches(candidate: str, salt: str, expected_hash: str) -> bool:
    """Constant-time comparison, so timing reveals nothing about the code."""
    return hmac.compare_digest(hash_code(candidate, salt), expected_hash)

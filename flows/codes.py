"""One-time confirmation codes: 6 digits not starting with 0, kept only as an HMAC keyed by the
server secret (`service.secret_key`, never in Redis), over a per-send nonce and the code.

With the secret outside Redis, a copy of Redis (or its AOF) does not give the code: the 900,000
candidates cannot be tried without the key."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_code() -> str:
    return str(100_000 + secrets.randbelow(900_000))


def new_nonce() -> str:
    return secrets.token_hex(16)


def hash_code(code: str, nonce: str, key: bytes) -> str:
    return hmac.new(key, f"code\x1f{nonce}\x1f{code}".encode("ascii"), hashlib.sha256).hexdigest()


def code_matches(candidate: str, nonce: str, expected_hash: str, key: bytes) -> bool:
    """Constant-time comparison, so timing reveals nothing about the code."""
    return hmac.compare_digest(hash_code(candidate, nonce, key), expected_hash)

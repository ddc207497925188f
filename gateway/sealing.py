"""Sealed texts: a confirmation code's or a new password's SMS waits in the outbound queue
encrypted (AES-GCM, with a key derived from `service.secret_key` by HKDF), so neither Redis nor
its AOF holds them in clear; the sender opens the text just before it goes on the wire.

Any gateway process with the same secret opens what any other sealed. Rotating the secret
(docs/security.md) leaves the replies sealed with the old one unopenable: rotate with the
outbound queues empty.
"""

from __future__ import annotations

import base64
import secrets
from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION: Final = "v1:"
_NONCE_BYTES: Final = 12


class Sealer:
    def __init__(self, secret_key: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"hamta-gateway outbound text").derive(secret_key)
        self._aead = AESGCM(key)

    def seal(self, text: str, context: str) -> str:
        """`context` (the message id) is authenticated with it: a sealed text cannot be moved
        to another message."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, text.encode("utf-8"), context.encode("utf-8"))
        return _VERSION + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, token: str, context: str) -> str:
        """ValueError when the token is not ours (another secret, another message, altered)."""
        if not token.startswith(_VERSION):
            raise ValueError("not a sealed text")
        raw = base64.b64decode(token[len(_VERSION):])
        try:
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode("utf-8"))
        except Exception as exc:  # cryptography's InvalidTag: wrong key, context or bytes
            raise ValueError("sealed text cannot be opened with this secret") from exc
        return plain.decode("utf-8")

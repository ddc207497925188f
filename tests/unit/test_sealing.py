"""Sealed outbound texts (gateway/sealing.py): only a holder of the secret opens them, and only
for the message they were sealed for."""

from __future__ import annotations

import pytest

from gateway.sealing import Sealer

SECRET = b"s" * 32


def test_a_sealed_text_opens_with_the_secret_for_its_message() -> None:
    sealer = Sealer(SECRET)
    token = sealer.seal("کد تأیید همتا: 482915", "1-0/0")
    assert "482915" not in token and token.startswith("v1:")
    assert Sealer(SECRET).open(token, "1-0/0") == "کد تأیید همتا: 482915"  # another process


@pytest.mark.parametrize(
    ("secret", "context"), [(b"t" * 32, "1-0/0"), (SECRET, "1-0/1")],
    ids=["another secret", "another message"],
)
def test_nobody_else_opens_it(secret: bytes, context: str) -> None:
    token = Sealer(SECRET).seal("Ab3dEfGh9k", "1-0/0")
    with pytest.raises(ValueError, match="cannot be opened"):
        Sealer(secret).open(token, context)


def test_each_seal_differs() -> None:
    sealer = Sealer(SECRET)
    assert sealer.seal("482915", "m") != sealer.seal("482915", "m")

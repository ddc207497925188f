"""Confirmation codes inside a session: send, resend (at most N), check (expiry, constant time)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from enum import StrEnum

from flows import codes, guards
from flows.dialog_types import Turn

_CODE = re.compile(r"^[0-9]{6}$")


class CodeCheck(StrEnum):
    CORRECT = "correct"
    MALFORMED = "malformed"
    WRONG = "wrong"
    EXPIRED = "expired"


def send_code(turn: Turn, key: str, **params: object) -> bool:
    """Text a fresh code (kind "code"); False, and the session ends, once the sends are used up."""
    session = turn.session
    if session.code_sends >= turn.config.code_max_sends:
        turn.end_session("code_resend_limit")
        return False
    if guards.code_rate_limited(turn):
        return False
    code = codes.new_code()
    session.code_salt = codes.new_nonce()
    session.code_hash = codes.hash_code(code, session.code_salt, turn.config.secret_key)
    session.code_expires_at = turn.now + turn.config.code_ttl_seconds
    session.code_sends += 1
    minutes = max(turn.config.code_ttl_seconds // 60, 1)
    turn.say(key, kind="code", code=code, minutes=minutes, **params)
    if turn.channel == "ussd":  # the code went by SMS; the screen waits for it
        turn.say("code_sent", minutes=minutes)
    return True


def check_code(turn: Turn, text: str) -> CodeCheck:
    session = turn.session
    if not _CODE.match(text):
        return CodeCheck.MALFORMED
    if turn.now > session.code_expires_at:
        return CodeCheck.EXPIRED
    if codes.code_matches(text, session.code_salt, session.code_hash, turn.config.secret_key):
        return CodeCheck.CORRECT
    return CodeCheck.WRONG


async def confirm(turn: Turn, apply: Callable[[Turn], Awaitable[None]]) -> None:
    """The code step of every flow: `apply` runs only for the right code in time."""
    outcome = check_code(turn, turn.text)
    if outcome is CodeCheck.MALFORMED:
        guards.invalid_input(turn, "code_malformed")
    elif outcome is CodeCheck.EXPIRED:
        forget_code(turn)
        turn.say("code_expired")
    elif outcome is CodeCheck.WRONG:
        if guards.strike(turn):
            turn.say("code_wrong", left=guards.attempts_left(turn))
    else:
        await apply(turn)


def forget_code(turn: Turn) -> None:
    session = turn.session
    session.code_hash = session.code_salt = ""
    session.code_expires_at = 0.0

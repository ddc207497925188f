"""Attempt accounting shared by every flow: invalid inputs, mismatches, strikes and lockout."""

from __future__ import annotations

from flows.dialog_types import Turn


def invalid_input(turn: Turn, key: str, **params: object) -> None:
    """Say what is wrong; end the session after too many invalid inputs in one step."""
    turn.session.invalid_inputs += 1
    if turn.session.invalid_inputs >= turn.config.max_invalid_inputs:
        turn.end_session("too_many_invalid")
    else:
        turn.say(key, "reply", **params)


def strike(turn: Turn) -> bool:
    """Count a mismatch or wrong code; True when the session goes on, False when it ended."""
    turn.session.mismatches += 1
    if not count_lookup(turn):  # the strike locked the number out
        return False
    if turn.session.mismatches >= turn.config.max_mismatches_per_session:
        turn.end_session("mismatch_final")
        return False
    return True


def _count_strike(turn: Turn) -> None:
    """A count and the start of its window, nothing more: the window opens at the first strike
    and lasts `lockout_seconds`; a strike after it starts a new count."""
    subscriber = turn.subscriber
    if turn.now - subscriber.strikes_since >= turn.config.lockout_seconds:
        subscriber.strikes, subscriber.strikes_since = 0, turn.now
    subscriber.strikes += 1


def count_lookup(turn: Turn) -> bool:
    """An answer that tells something about a device (where it is) is not a mismatch but is
    rationed like one, so nobody can probe IMEI-number pairs without limit; True while the
    number is not locked out."""
    subscriber, config = turn.subscriber, turn.config
    _count_strike(turn)
    if subscriber.strikes >= config.lockout_strikes:
        subscriber.locked_until = turn.now + config.lockout_seconds
        turn.end_session("locked", hours=hours_left(turn))
        return False
    return True


def code_rate_limited(turn: Turn) -> bool:
    """Codes per number across sessions: at most `codes_per_hour` in an hour and `codes_per_day`
    in 24 h. True, and the session ends telling how long to wait, when this send is over either;
    otherwise the send is counted."""
    subscriber, config, now = turn.subscriber, turn.config, turn.now
    sent = [t for t in subscriber.code_sends_at if t > now - 86400]
    last_hour = [t for t in sent if t > now - 3600]
    wait = 0.0
    if len(last_hour) >= config.codes_per_hour:
        wait = last_hour[-config.codes_per_hour] + 3600 - now
    if len(sent) >= config.codes_per_day:
        wait = max(wait, sent[-config.codes_per_day] + 86400 - now)
    subscriber.code_sends_at = sent if wait else [*sent, now]
    if not wait:
        return False
    over_day = len(sent) >= config.codes_per_day
    turn.marks.limited = "codes_per_day" if over_day else "codes_per_hour"
    minutes = max(int(-(-wait // 60)), 1)
    if minutes > 60:
        turn.end_session("code_limit_hours", hours=int(-(-minutes // 60)))
    else:
        turn.end_session("code_limit_minutes", minutes=minutes)
    return True


def attempts_left(turn: Turn) -> int:
    return turn.config.max_mismatches_per_session - turn.session.mismatches


def hours_left(turn: Turn) -> int:
    seconds = max(turn.subscriber.locked_until - turn.now, 0)
    return max(int(-(-seconds // 3600)), 1)


def is_locked(turn: Turn) -> bool:
    return turn.subscriber.locked_until > turn.now

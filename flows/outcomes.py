"""What a turn came to, in a few bounded words an operator can count (metrics, the turn's log line).

- ``flow``: the procedure the message was answered in (``restore``, ``password``), or ``none``
  (menu, help, language, a locked number);
- ``step``: the state the message was answered in (``ask_imei``, ...), ``start`` when it opened
  the flow, ``none`` outside one;
- ``outcome``: one word for the turn (`TURN_OUTCOMES`, or a recovery outcome when the turn ended
  the procedure, or ``advanced``);
- ``recoveries``: each procedure the turn ended, with how (`RECOVERY_OUTCOMES`; ``expired``
  when the message found its previous session idled out).

It is read from what the turn said (the catalog keys of its replies) and from what the flows mark
on the `Turn` (`Turn.ended`, `Turn.limited`): the words never depend on the texts themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from flows.session import Subscriber

NONE: Final = "none"
START: Final = "start"
ADVANCED: Final = "advanced"
EXPIRED: Final = "expired"
UNKNOWN_FLOW: Final = "unknown"  # an expired session the store had already forgotten

# The catalog key a session ends with -> how the procedure ended. The first nine are the
# contract of docs/operations.md; the others name the remaining ways a procedure can end.
RECOVERY_OUTCOMES: Final[dict[str, str]] = {
    "restored_to_sim": "restored",
    "restored_to_national_id": "restored",
    "password_reset": "password_reset",
    "password_reset_sim_added": "password_reset",
    "in_own_national_id_cartable": "refused_r2",
    "password_r6_refused": "refused_r6",
    "mismatch_final": "mismatch",
    "locked": "locked",
    "cancelled": "cancelled",
    "code_limit_minutes": "rate_limited",
    "code_limit_hours": "rate_limited",
    "already_here": "already_here",
    "still_in_other_cartable": "still_attached",
    "requester_not_eligible": "not_eligible",
    "too_many_invalid": "too_many_invalid",
    "code_resend_limit": "resend_limit",
    "restore_conflict": "conflict",
    "password_conflict": "conflict",
}
ENDED: Final = "ended"  # a session ended with a key missing from the table above

_INVALID = ("imei_length", "imei_checksum", "number_invalid", "national_id_length",
            "national_id_checksum", "birth_date_format", "birth_date_calendar", "birth_date_future",
            "code_malformed")  # fmt: skip
# A turn that ended no procedure: the first of its replies' keys found here names it.
TURN_OUTCOMES: Final[dict[str, str]] = {
    **dict.fromkeys(_INVALID, "invalid"),
    "mismatch": "mismatch",
    "password_mismatch": "mismatch",
    "code_wrong": "mismatch",
    "code_restore": "code_sent",
    "code_password": "code_sent",
    "code_expired": "code_expired",
    "nothing_to_resend": "help",
    "help": "help",
    "menu": "menu",
    "language_set": "language",
    "locked": "locked",
}


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    flow: str = NONE
    step: str = NONE
    outcome: str = ADVANCED
    # (procedure, outcome) of each procedure this turn ended
    recoveries: tuple[tuple[str, str], ...] = ()
    limit: str = ""  # the limit that refused the turn's request (codes_per_hour, ...), if any


@dataclass(slots=True)
class TurnMarks:
    """What the flows mark on a turn while it runs (see `flows.dialog_types.Turn`)."""

    flow: str = ""  # the live session's flow when the message came, "" without one
    step: str = ""
    ended: list[tuple[str, str]] = field(default_factory=list)
    limited: str = ""


def summarize(marks: TurnMarks, keys: list[str], subscriber: Subscriber) -> TurnOutcome:
    """The outcome of a turn that said `keys`, leaving `subscriber` as it is now."""
    after = subscriber.session
    own = [(flow, outcome) for flow, outcome in marks.ended if outcome != EXPIRED]
    flow = marks.flow or (after.flow if after else "") or (own[-1][0] if own else "") or NONE
    step = marks.step or (START if flow != NONE else NONE)
    if own:
        outcome = own[-1][1]
    else:
        found = [TURN_OUTCOMES[key] for key in keys if key in TURN_OUTCOMES]
        outcome = found[0] if found else (ADVANCED if flow != NONE else "menu")
    return TurnOutcome(flow, step, outcome, tuple(marks.ended), marks.limited)


def untaken(subscriber: Subscriber, outcome: str, limit: str = "") -> TurnOutcome:
    """A turn the dialog did not run (refused, a USSD page, a resume offer): where it stood."""
    session = subscriber.session
    if session is None:
        return TurnOutcome(NONE, NONE, outcome, limit=limit)
    return TurnOutcome(session.flow, session.state, outcome, limit=limit)

"""The cartable-password flow (R3, R5, R6): ask national ID -> ask birth date -> the rules ->
confirmation code -> new password, texted in its own SMS and never kept in the session."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone
from enum import Enum

import jdatetime

from flows import guards
from flows.birth_date import birth_date_problem, format_jalali, parse_birth_date
from flows.confirmation import confirm, send_code
from flows.dialog_types import Turn
from flows.machine_flow import Handler, MachineFlow, Position
from flows.national_id import national_id_problem, parse_national_id
from flows.password_rules import PasswordVerdict, decide_password
from flows.ports import MoveResult, PasswordChange
from flows.restore_rules import requester_sim

FLOW = "password"
# No look-alikes (0/O/o, 1/l/I/i), and only GSM 03.38 characters so the SMS stays one part.
PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789"
PASSWORD_LENGTH = 10
IRAN = timezone(timedelta(hours=3, minutes=30))  # Iran has kept standard time since 2022


def operation_password(operation_id: str, key: bytes) -> str:
    """The operation's new password, derived at the confirming turn from its (random) id and the
    server secret, and stored nowhere before: a turn run again (its commit was lost) texts the
    very password the registry already holds, no late process can replace it with another, and
    nothing in Redis gives it without the secret."""
    seed = hmac.new(key, f"password\x1f{operation_id}".encode("ascii"), hashlib.sha256).digest()
    return password_from_seed(seed)


def password_from_seed(seed: bytes) -> str:
    """Unbiased: bytes past the alphabet's last whole multiple are skipped."""
    alphabet, counter = PASSWORD_ALPHABET, 0
    chosen: list[str] = []
    limit = 256 - 256 % len(alphabet)
    while len(chosen) < PASSWORD_LENGTH:
        block = hmac.new(seed, counter.to_bytes(4, "big"), hashlib.sha256).digest()
        chosen += [alphabet[b % len(alphabet)] for b in block if b < limit]
        counter += 1
    return "".join(chosen[:PASSWORD_LENGTH])


def today_in_iran(now: float) -> jdatetime.date:
    return jdatetime.date.fromgregorian(date=datetime.fromtimestamp(now, IRAN).date())


def _usable_numbers(masked: tuple[str, ...], lang: str) -> str:
    """At most two (already masked) numbers, so the refusal fits two SMS segments."""
    comma = "، " if lang == "fa" else ", "
    # In a Persian sentence a left-to-right mark keeps 0912***0001 from showing as 0001***0912.
    mark = "\u200e" if lang == "fa" else ""
    shown = comma.join(mark + number for number in masked[:2])
    return shown + (comma + "…" if len(masked) > 2 else "")


class PasswordState(Enum):
    ASK_NATIONAL_ID = "ask_national_id"
    ASK_BIRTH_DATE = "ask_birth_date"
    ASK_PASSWORD_CODE = "ask_password_code"


class PasswordFlow(MachineFlow):
    name = FLOW
    States = PasswordState
    TRANSITIONS = (
        {
            "trigger": "national_id_given",
            "source": PasswordState.ASK_NATIONAL_ID,
            "dest": PasswordState.ASK_BIRTH_DATE,
        },
        {
            "trigger": "rules_passed",
            "source": PasswordState.ASK_BIRTH_DATE,
            "dest": PasswordState.ASK_PASSWORD_CODE,
        },
        {"trigger": "start_over", "source": "*", "dest": PasswordState.ASK_NATIONAL_ID},
    )
    CODE_STATE = PasswordState.ASK_PASSWORD_CODE
    CODE_TEXT = "code_password"

    def handlers(self) -> dict[Enum, Handler]:
        return {
            PasswordState.ASK_NATIONAL_ID: self._on_national_id,
            PasswordState.ASK_BIRTH_DATE: self._on_birth_date,
            PasswordState.ASK_PASSWORD_CODE: self._on_code,
        }

    async def start(self, turn: Turn, first_input: str | None = None) -> None:
        if await self.open_if_eligible(turn):
            turn.say("ask_national_id")

    async def _on_national_id(self, turn: Turn, position: Position) -> None:
        national_id = parse_national_id(turn.text)
        if national_id is None:
            guards.invalid_input(turn, f"national_id_{national_id_problem(turn.text) or 'length'}")
            return
        turn.session.national_id, turn.session.invalid_inputs = national_id, 0
        position.fire("national_id_given")
        turn.say("ask_birth_date")

    async def _on_birth_date(self, turn: Turn, position: Position) -> None:
        today = today_in_iran(turn.now)
        birth_date = parse_birth_date(turn.text, today)
        if birth_date is None:
            guards.invalid_input(turn, f"birth_date_{birth_date_problem(turn.text, today) or 'format'}")
            return
        session, msisdn = turn.session, turn.subscriber.msisdn
        session.birth_date, session.invalid_inputs = format_jalali(birth_date), 0
        requester = await requester_sim(self._registry, msisdn, session.national_id)
        if requester is None:
            turn.end_session("requester_not_eligible")
            return
        decision = await decide_password(self._registry, msisdn, requester, session.national_id, birth_date)
        if decision.verdict is PasswordVerdict.MISMATCH:
            if guards.strike(turn):
                position.fire("start_over")
                turn.say("password_mismatch", left=guards.attempts_left(turn))
        elif decision.verdict is PasswordVerdict.OTHER_SIM_USABLE:
            numbers = _usable_numbers(decision.usable_sims, turn.subscriber.lang)
            turn.end_session("password_r6_refused", numbers=numbers)
        else:
            session.add_requester = decision.verdict is PasswordVerdict.ADD_AND_RESET
            session.operation_id = secrets.token_hex(12)
            if send_code(turn, self.CODE_TEXT):
                position.fire("rules_passed")

    async def _on_code(self, turn: Turn, position: Position) -> None:
        await confirm(turn, self._apply)

    async def _apply(self, turn: Turn) -> None:
        session = turn.session
        change = PasswordChange(
            national_id=session.national_id,
            requester=turn.subscriber.msisdn,
            add_requester=session.add_requester,
            operation_id=session.operation_id,
            message_id=turn.message_id,
        )
        password = operation_password(session.operation_id, turn.config.secret_key)
        result, devices = await self._registry.recover_password(change, password)
        if result is MoveResult.CONFLICT:
            turn.end_session("password_conflict")
            return
        done = "password_reset_sim_added" if change.add_requester else "password_reset"
        turn.end_session(done, devices=devices)
        turn.say("password_sms", kind="password", password=password)

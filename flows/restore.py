"""The device-restore flow (R1, R2, R4): ask IMEI -> ask old number -> confirmation code -> done.

States and transitions are data; `RestoreFlow.handle` runs the handler of the current state and
fires the transition it decides on. The session is added to the machine for one message only.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict
from enum import Enum

from flows import guards
from flows.confirmation import confirm, send_code
from flows.dialog_types import Turn
from flows.machine_flow import Handler, MachineFlow, Position
from flows.normalize import imei_problem, mask_msisdn, parse_imei, parse_msisdn
from flows.ports import MoveResult, RestoreMove
from flows.restore_rules import Verdict, decide, requester_sim

FLOW = "restore"


class RestoreState(Enum):
    ASK_IMEI = "ask_imei"
    ASK_OLD_NUMBER = "ask_old_number"
    ASK_CODE = "ask_code"


VERDICT_TEXT = {
    Verdict.IN_OWN_NATIONAL_ID_CARTABLE: "in_own_national_id_cartable",
    Verdict.ALREADY_HERE: "already_here",
    Verdict.STILL_IN_OTHER_CARTABLE: "still_in_other_cartable",
}


class RestoreFlow(MachineFlow):
    name = FLOW
    States = RestoreState
    TRANSITIONS = (
        {"trigger": "imei_given", "source": RestoreState.ASK_IMEI, "dest": RestoreState.ASK_OLD_NUMBER},
        {"trigger": "rules_passed", "source": RestoreState.ASK_OLD_NUMBER, "dest": RestoreState.ASK_CODE},
        {"trigger": "start_over", "source": "*", "dest": RestoreState.ASK_IMEI},
    )
    CODE_STATE = RestoreState.ASK_CODE
    CODE_TEXT = "code_restore"

    def handlers(self) -> dict[Enum, Handler]:
        return {
            RestoreState.ASK_IMEI: self._on_imei,
            RestoreState.ASK_OLD_NUMBER: self._on_old_number,
            RestoreState.ASK_CODE: self._on_code,
        }

    async def start(self, turn: Turn, first_input: str | None = None) -> None:
        if not await self.open_if_eligible(turn):
            return
        if first_input is None:
            turn.say("ask_imei")
        else:
            await self.handle(turn)

    def code_params(self, turn: Turn) -> dict[str, object]:
        return {"imei_tail": turn.session.imei[-4:]}

    async def _on_imei(self, turn: Turn, position: Position) -> None:
        imei = parse_imei(turn.text)
        if imei is None:
            problem = imei_problem(turn.text) or "length"
            guards.invalid_input(turn, f"imei_{problem}")
            return
        turn.session.imei, turn.session.invalid_inputs = imei, 0
        position.fire("imei_given")
        turn.say("ask_old_number")

    async def _on_old_number(self, turn: Turn, position: Position) -> None:
        old = parse_msisdn(turn.text)
        if old is None:
            guards.invalid_input(turn, "number_invalid")
            return
        session, msisdn = turn.session, turn.subscriber.msisdn
        session.old_msisdn, session.invalid_inputs = old, 0
        requester = await requester_sim(self._registry, msisdn)
        if requester is None:
            turn.end_session("requester_not_eligible")
            return
        decision = await decide(self._registry, msisdn, requester, session.imei, old)
        if decision.verdict is Verdict.MISMATCH:
            self._mismatch(turn, position)
        elif decision.move is None:
            if guards.count_lookup(turn):
                turn.end_session(VERDICT_TEXT[decision.verdict], number=mask_msisdn(old))
        else:
            session.pending_move = {k: v for k, v in asdict(decision.move).items() if v}
            session.operation_id = secrets.token_hex(12)
            if send_code(turn, self.CODE_TEXT, **self.code_params(turn)):
                position.fire("rules_passed")

    def _mismatch(self, turn: Turn, position: Position) -> None:
        if guards.strike(turn):
            position.fire("start_over")
            turn.say("mismatch", left=guards.attempts_left(turn))

    async def _on_code(self, turn: Turn, position: Position) -> None:
        await confirm(turn, self._apply)

    async def _apply(self, turn: Turn) -> None:
        session = turn.session
        move = _pending_move(session.pending_move, session.operation_id, turn.message_id)
        result = await self._registry.restore_device(move)
        tail = session.imei[-4:]
        if result is MoveResult.CONFLICT:
            turn.end_session("restore_conflict")
        elif move.into_national_id_cartable:
            turn.end_session("restored_to_national_id", imei_tail=tail)
        else:
            turn.end_session("restored_to_sim", imei_tail=tail)


def _pending_move(pending: dict[str, str], operation_id: str, message_id: str) -> RestoreMove:
    """The confirmed move. A session written before the privacy-minimal seam (it named the
    owner, `to_national_id`) still confirms: the registry resolves the owner itself."""
    old_style = "national_id_cartable" if pending.get("to_national_id") else "sim_cartable"
    destination = pending.get("destination", old_style)
    return RestoreMove(
        pending["imei"],
        pending["from_sim"],
        pending["requester"],
        "national_id_cartable" if destination == "national_id_cartable" else "sim_cartable",
        operation_id,
        message_id,
    )

"""What every flow shares: a `transitions` machine over an Enum of states, handlers per state.

A subclass declares `name`, `States`, `TRANSITIONS` and `handlers()`; `handle` puts the
session's state in a `Position`, fires the machine's events on it and copies the new state back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import ClassVar, Literal, TypedDict

from transitions import Machine

from flows.confirmation import send_code
from flows.dialog_types import Turn
from flows.outcomes import RECOVERY_OUTCOMES
from flows.ports import Registry
from flows.restore_rules import requester_sim
from flows.session import Session

Handler = Callable[[Turn, "Position"], Awaitable[None]]


class Transition(TypedDict):
    """One row of a flow's transition table, as `transitions.Machine` takes it."""

    trigger: str
    source: Enum | Literal["*"]
    dest: Enum


class Position:
    """The object `transitions` drives: only the state, copied back into the session.

    Its events are fired through the machine (`Event.trigger`), which reads and sets the
    model's `state`: the position is never added to the machine, which would bind a method
    per trigger and state to it on every message."""

    def __init__(self, state: Enum, machine: Machine) -> None:
        self.state = state
        self._machine = machine

    def fire(self, trigger: str) -> None:
        self._machine.events[trigger].trigger(self)


class MachineFlow:
    name: ClassVar[str]
    States: ClassVar[type[Enum]]
    TRANSITIONS: ClassVar[tuple[Transition, ...]]
    CODE_STATE: ClassVar[Enum]  # the state that waits for the confirmation code
    CODE_TEXT: ClassVar[str]  # the catalog key of the code's SMS

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        first = next(iter(self.States))
        self._first = first
        self._machine = Machine(
            model=None,
            states=self.States,
            transitions=self.TRANSITIONS,
            initial=first,
            auto_transitions=False,
        )
        self._handlers = self.handlers()

    def handlers(self) -> dict[Enum, Handler]:
        raise NotImplementedError

    def code_params(self, turn: Turn) -> dict[str, object]:
        return {}

    async def open_if_eligible(self, turn: Turn) -> bool:
        """Every flow starts from an active SIM with a known owner (DESIGN §1 step 1)."""
        if await requester_sim(self._registry, turn.subscriber.msisdn) is None:
            turn.say("requester_not_eligible")
            turn.marks.ended.append((self.name, RECOVERY_OUTCOMES["requester_not_eligible"]))
            return False
        self.open_session(turn)
        return True

    def resend(self, turn: Turn) -> None:
        if not self.in_state(turn.session, self.CODE_STATE):
            turn.say("nothing_to_resend")
            return
        send_code(turn, self.CODE_TEXT, **self.code_params(turn))

    def open_session(self, turn: Turn) -> None:
        turn.subscriber.session = Session(
            flow=self.name, state=self._first.value, started_at=turn.now, last_seen=turn.now,
            channel=turn.channel,
        )

    async def handle(self, turn: Turn) -> None:
        position = Position(self.States(turn.session.state), self._machine)
        await self._handlers[position.state](turn, position)
        if turn.subscriber.session is not None:
            turn.session.state = position.state.value

    def help_key(self, session: Session) -> str:
        return f"help_{session.state}"

    def question_key(self, session: Session) -> str:
        """The question the current step waits on, asked again (after a language switch, or
        when a dialogue moves to a USSD screen). Every code step asks the same: `ask_code`."""
        if self.in_state(session, self.CODE_STATE):
            return "ask_code"
        return str(session.state)

    def in_state(self, session: Session, state: Enum) -> bool:
        return self.States(session.state) is state

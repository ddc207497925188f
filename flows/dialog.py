"""The conversation entry point: language, lockout, expiry, global words, menu, then the flow.

`Dialog.handle` takes a subscriber and one message's text and returns the replies; the caller
commits the mutated subscriber and the replies together. Nothing here knows the channel's wire.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flows import guards
from flows.catalog import Catalog, default_catalog
from flows.dialog_types import Channel, FlowConfig, Reply, Turn
from flows.normalize import normalize_text, to_ascii_digits
from flows.outcomes import EXPIRED, UNKNOWN_FLOW, TurnOutcome, summarize
from flows.password import PasswordFlow
from flows.ports import Registry
from flows.restore import RestoreFlow
from flows.session import Session, Subscriber

LANGUAGE_WORDS = {"en": "en", "english": "en", "fa": "fa", "فارسی": "fa"}
CANCEL_WORDS = {"0", "لغو", "cancel", "stop", "انصراف"}
HELP_WORDS = {"راهنما", "help", "?", "؟", "کمک"}
AGAIN_WORDS = {"دوباره", "again", "resend"}
RESTORE_WORDS = {"1", "بازیابی", "restore"}
PASSWORD_WORDS = {"2", "رمز", "password"}
MENU_HELP_WORDS = {"3"} | HELP_WORDS


class Flow(Protocol):
    """What the dialog needs of a flow; `MachineFlow` subclasses satisfy it."""

    @property
    def name(self) -> str: ...

    async def start(self, turn: Turn, first_input: str | None = None) -> None: ...

    async def handle(self, turn: Turn) -> None: ...

    def help_key(self, session: Session) -> str: ...

    def question_key(self, session: Session) -> str: ...

    def resend(self, turn: Turn) -> None: ...


@dataclass(frozen=True, slots=True)
class TurnResult:
    replies: list[Reply]
    outcome: TurnOutcome


class Dialog:
    def __init__(
        self, registry: Registry, config: FlowConfig, catalog: Catalog | None = None
    ) -> None:
        self._config = config
        self._catalog = catalog or default_catalog()
        self._restore = RestoreFlow(registry)
        self._password = PasswordFlow(registry)
        self._flows: dict[str, Flow] = {flow.name: flow for flow in (self._restore, self._password)}

    @property
    def config(self) -> FlowConfig:
        return self._config

    def render(self, subscriber: Subscriber, key: str, **params: object) -> str:
        return self._catalog.render(subscriber.lang, key, **params)

    async def handle(
        self, subscriber: Subscriber, text: str, message_id: str, now: float,
        channel: Channel = "sms",
    ) -> list[Reply]:
        return (await self.turn(subscriber, text, message_id, now, channel)).replies

    async def turn(
        self, subscriber: Subscriber, text: str, message_id: str, now: float,
        channel: Channel = "sms",
    ) -> TurnResult:
        """`handle`, and what the turn came to (flows/outcomes.py)."""
        turn = Turn(subscriber, normalize_text(text), message_id, now, self._catalog, self._config,
                    channel)
        await self._route(turn, _keyword(turn.text))
        if turn.notices:  # nothing followed them (every route replies; this is a safety net)
            turn.replies.append(Reply("\n".join(turn.notices), "reply", "notice"))
        if subscriber.session is not None:
            subscriber.session.last_seen = subscriber.session_seen_at = now
        else:
            subscriber.session_seen_at = 0.0
        keys = [reply.key for reply in turn.replies]
        return TurnResult(turn.replies, summarize(turn.marks, keys, subscriber))

    async def _route(self, turn: Turn, word: str) -> None:
        language = LANGUAGE_WORDS.get(word)
        if language is not None:
            # The language changes and the same step is shown again in it: the question the
            # flow waits on, or the menu; nothing else happens to the dialogue.
            turn.subscriber.lang = language  # type: ignore[assignment]
            word = ""
        if self._expired(turn):
            session = turn.subscriber.session
            turn.marks.ended.append((session.flow if session else UNKNOWN_FLOW, EXPIRED))
            turn.subscriber.session = None
            turn.notice("session_expired")
        self._close_other_channel(turn)
        if turn.subscriber.session is not None:
            turn.marks.flow, turn.marks.step = turn.session.flow, turn.session.state
        if language is not None and not turn.notices:  # another notice says enough
            turn.notice("language_set")
        if guards.is_locked(turn):
            turn.end_session("locked", hours=guards.hours_left(turn))
        elif turn.subscriber.session is None:
            await self._no_session(turn, word)
        elif language is not None:
            turn.say(self._flows[turn.session.flow].question_key(turn.session))
        else:
            await self._in_session(turn, word)

    def _close_other_channel(self, turn: Turn) -> None:
        """A text message does not continue a USSD dialogue the gateway did not hand over to
        SMS (docs/conversations.md, "Channels"): the dialogue is closed, the reply says so once,
        and the message is read as a first message."""
        session = turn.subscriber.session
        if turn.channel == "sms" and session is not None and session.channel == "ussd":
            turn.subscriber.session = None
            turn.notice("ussd_dialogue_closed")

    def question(self, subscriber: Subscriber, channel: Channel) -> str:
        """The live session's current question as `channel` shows it (the menu without one)."""
        turn = Turn(subscriber, "", "", 0.0, self._catalog, self._config, channel)
        session = subscriber.session
        if session is None:
            return turn.render("menu")
        return turn.render(self._flows[session.flow].question_key(session))

    def render_for(self, subscriber: Subscriber, reply: Reply, channel: Channel) -> str:
        """A reply rendered again for another channel (a screen handed over to SMS)."""
        turn = Turn(subscriber, "", "", 0.0, self._catalog, self._config, channel)
        if reply.kind != "reply" or not self._catalog.has(subscriber.lang, reply.key):
            return reply.text
        return turn.render(reply.key, None, **reply.params)

    def _expired(self, turn: Turn) -> bool:
        """The session idled out: it is still here but stale, or the store has let it expire
        while the subscriber's record remembers it was left open."""
        subscriber, idle = turn.subscriber, self._config.session_idle_seconds
        if subscriber.session is not None:
            return turn.now - subscriber.session.last_seen > idle
        return subscriber.session_seen_at > 0 and turn.now - subscriber.session_seen_at > idle

    async def _no_session(self, turn: Turn, word: str) -> None:
        if word in RESTORE_WORDS:
            await self._restore.start(turn)
        elif _looks_like_imei(turn.text):
            await self._restore.start(turn, first_input=turn.text)
        elif word in PASSWORD_WORDS:
            await self._password.start(turn)
        elif word in MENU_HELP_WORDS:
            turn.say("help")
        else:
            turn.say("menu")

    async def _in_session(self, turn: Turn, word: str) -> None:
        flow = self._flows[turn.session.flow]
        if word in CANCEL_WORDS:
            turn.end_session("cancelled")
        elif word in HELP_WORDS:
            turn.say(flow.help_key(turn.session))
        elif word in AGAIN_WORDS:
            flow.resend(turn)
        else:
            await flow.handle(turn)


def _keyword(text: str) -> str:
    """The text as a possible keyword: ASCII digits, lower case, without end punctuation
    (`لغو.` is `لغو`); `?` and `؟` alone stay, they are the help words."""
    word = to_ascii_digits(text).strip().lower()
    return word if word in HELP_WORDS else word.strip(" .!،,؛;:?؟")


def _looks_like_imei(text: str) -> bool:
    digits = [c for c in to_ascii_digits(text) if c.isdigit()]
    return 14 <= len(digits) <= 17 and not any(c.isalpha() for c in text)

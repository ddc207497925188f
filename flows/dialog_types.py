"""Types shared by the dialog and its flows: configuration, replies and the turn context."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Literal

from flows.catalog import Catalog, Language
from flows.outcomes import ENDED, RECOVERY_OUTCOMES, TurnMarks
from flows.session import Channel, Session, Subscriber

ReplyKind = Literal["reply", "code", "password"]
TWO_SEGMENTS = 134  # UCS-2 units in two concatenated SMS parts: the most a reply may take
__all__ = ["Channel", "FlowConfig", "Reply", "ReplyKind", "Turn"]


@dataclass(frozen=True, slots=True)
class FlowConfig:
    session_idle_seconds: int = 600
    code_ttl_seconds: int = 180
    code_max_sends: int = 3
    max_invalid_inputs: int = 3
    max_mismatches_per_session: int = 3
    lockout_strikes: int = 5
    lockout_seconds: int = 86400
    ussd_resume_seconds: int = 300
    codes_per_hour: int = 3  # confirmation codes per number, across sessions
    codes_per_day: int = 6
    # Keys code HMACs and password derivation (`service.secret_key`); a fresh random one for
    # a FlowConfig built without settings (tests), so nothing is ever keyed by a constant.
    secret_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    kind: ReplyKind = "reply"
    key: str = ""  # the catalog key it was rendered from
    # Its parameters, so that a screen handed over to SMS can be rendered again in SMS words.
    params: dict[str, object] = field(default_factory=dict, compare=False, repr=False)


def channel_words(catalog: Catalog, lang: Language, channel: Channel) -> dict[str, str]:
    """`{send}` / `{Send}` in a text: "send"/"بفرستید" in an SMS, "enter"/"وارد کنید" on a USSD
    screen (a screen is typed into, a text message is sent), so one text serves both channels."""
    word = catalog.render(lang, "ussd_word_send" if channel == "ussd" else "word_send")
    return {"send": word, "Send": word[:1].upper() + word[1:]}


@dataclass(slots=True)
class Turn:
    """One inbound message being handled: the subscriber is mutated, replies are collected."""

    subscriber: Subscriber
    text: str
    message_id: str
    now: float
    catalog: Catalog
    config: FlowConfig
    channel: Channel = "sms"
    replies: list[Reply] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # said at the head of the next reply
    marks: TurnMarks = field(default_factory=TurnMarks)  # what it came to (flows/outcomes.py)

    @property
    def session(self) -> Session:
        assert self.subscriber.session is not None, "no live session in this turn"
        return self.subscriber.session

    def render(
        self, key: str, channel: Channel | None = None, screen: bool = True, /, **params: object
    ) -> str:
        """The text of `key` for a channel (this turn's by default): on a USSD screen a
        `ussd_<key>` text, when the catalog has one, replaces the SMS text (unless not
        `screen`: a code's SMS is not a screen, though it is typed into one)."""
        lang, channel = self.subscriber.lang, channel or self.channel
        shown = key
        if screen and channel == "ussd" and self.catalog.has(lang, f"ussd_{key}"):
            shown = f"ussd_{key}"
        words = channel_words(self.catalog, lang, channel)
        return self.catalog.render(lang, shown, **{**words, **params})

    def say(self, key: str, kind: ReplyKind = "reply", **params: object) -> None:
        """Add a reply; codes and passwords always travel as SMS texts. Pending notices open
        the next ordinary reply, in the same message (one SMS, not two) when both fit in two
        segments."""
        text = self.render(key, None, kind == "reply", **params)
        if kind == "reply" and self.notices:
            joined = "\n".join([*self.notices, text])
            if len(joined.encode("utf-16-be")) // 2 <= TWO_SEGMENTS:
                text = joined
            else:  # together they would cost a third part: the notices go on their own
                self.replies.append(Reply("\n".join(self.notices), "reply", "notice"))
            self.notices = []
        self.replies.append(Reply(text, kind, key, params))

    def notice(self, key: str, **params: object) -> None:
        """Something to tell before the answer (the language changed, a dialogue was closed).
        SMS only: a USSD screen has no room for it and the user sees the screen change."""
        if self.channel == "sms":
            self.notices.append(self.render(key, **params))

    def end_session(self, key: str | None = None, **params: object) -> None:
        if self.subscriber.session is not None:
            outcome = RECOVERY_OUTCOMES.get(key or "", ENDED)
            self.marks.ended.append((self.subscriber.session.flow, outcome))
        self.subscriber.session = None
        if key:
            self.say(key, "reply", **params)

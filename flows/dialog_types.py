"""Types shared by the dialog and its flows: configuration, replies and the turn context."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Literal

from flows.catalog import Catalog
from flows.outcomes import ENDED, RECOVERY_OUTCOMES, TurnMarks
from flows.session import Session, Subscriber

ReplyKind = Literal["reply", "code", "password"]
Channel = Literal["sms", "ussd"]


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
    marks: TurnMarks = field(default_factory=TurnMarks)  # what it came to (flows/outcomes.py)

    @property
    def session(self) -> Session:
        assert self.subscriber.session is not None, "no live session in this turn"
        return self.subscriber.session

    def say(self, key: str, kind: ReplyKind = "reply", **params: object) -> None:
        """Add a reply. On a USSD screen a `ussd_<key>` text, when the catalog has one,
        replaces the SMS text; codes and passwords always travel as SMS texts."""
        lang, shown = self.subscriber.lang, key
        if self.channel == "ussd" and kind == "reply" and self.catalog.has(lang, f"ussd_{key}"):
            shown = f"ussd_{key}"
        self.replies.append(Reply(self.catalog.render(lang, shown, **params), kind, key))

    def end_session(self, key: str | None = None, **params: object) -> None:
        if self.subscriber.session is not None:
            outcome = RECOVERY_OUTCOMES.get(key or "", ENDED)
            self.marks.ended.append((self.subscriber.session.flow, outcome))
        self.subscriber.session = None
        if key:
            self.say(key, "reply", **params)

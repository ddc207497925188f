"""Per-number conversation state: what a worker loads before a turn and commits after it.

`Subscriber` lives as long as the number keeps talking (language, strikes, lockout);
`Session` is one conversation and is dropped when it ends or idles out. The store keeps the
two apart (`SESSION_FIELDS`): what a conversation collected (IMEI, old number, national ID,
birth date, the screens shown) expires `session_idle_seconds` after the last message, while
the language and the lockout outlive it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from flows.catalog import Language

Channel = Literal["sms", "ussd"]


class Session(BaseModel):
    flow: str
    state: str
    started_at: float
    last_seen: float
    invalid_inputs: int = 0
    # The channel the dialogue is held on (docs/conversations.md, "Channels"): a message on the
    # other channel does not silently continue it. A USSD dialogue becomes an SMS one only when
    # the gateway hands it over and says so on the screen.
    channel: Channel = "sms"
    mismatches: int = 0
    # restore
    imei: str = ""
    old_msisdn: str = ""
    # password
    national_id: str = ""
    birth_date: str = ""
    add_requester: bool = False
    # confirmation code: only its HMAC (keyed by the server secret) and the nonce are stored
    code_hash: str = ""
    code_salt: str = ""
    code_expires_at: float = 0.0
    code_sends: int = 0
    operation_id: str = ""
    pending_move: dict[str, str] = Field(default_factory=dict)


class Subscriber(BaseModel):
    msisdn: str
    lang: Language = "fa"
    # Strikes counted in the lockout window that opened at `strikes_since` (flows/guards.py)
    strikes: int = 0
    strikes_since: float = 0.0
    code_sends_at: list[float] = Field(default_factory=list)  # the last 24 h, for the code limits
    # The reply budget (gateway/limits.py): segments left, when counted, whether told it ran out.
    reply_tokens: float | None = None
    reply_tokens_at: float = 0.0
    reply_limit_told: bool = False
    locked_until: float = 0.0
    session: Session | None = None
    # USSD: the screens not shown yet, the last screen, and a pending "continue?" offer
    ussd_pages: list[str] = Field(default_factory=list)
    ussd_screen: str = ""
    ussd_resume_offered: bool = False
    ussd_started_at: float = 0.0  # when the current USSD dialogue was dialled
    # When the live session was last seen: kept with the language, so a session whose record
    # has expired can still be announced as expired (0: none was left open).
    session_seen_at: float = 0.0

    @model_validator(mode="before")
    @classmethod
    def _strike_times_to_a_count(cls, data: Any) -> Any:
        """Records written before strikes were a count held their times: keep the count."""
        if isinstance(data, dict) and isinstance(data.get("strikes"), list):
            times = data["strikes"]
            data = {**data, "strikes": len(times), "strikes_since": min(times, default=0.0)}
        return data


# The fields that belong to one conversation, stored apart from the subscriber's record.
SESSION_FIELDS: frozenset[str] = frozenset(
    {"session", "ussd_pages", "ussd_screen", "ussd_resume_offered", "ussd_started_at"})

"""The reply budget of each number: a token bucket of MT segments (`limits.reply_segments_burst`,
refilled at `limits.reply_segments_per_10_minutes`), kept in the subscriber's record and
committed with the turn, so it is as atomic as the turn itself (one number's messages run one at
a time, in order, wherever they arrive).

A turn runs while the bucket holds at least one segment and then pays what its replies cost;
past that the number gets one notice and then silence until the bucket refills: 100 MO in a
minute from one number cost at most burst + notice + a refill's worth of segments, and an
ordinary dialog never meets the limit. Turns that counted a strike are not charged (the lockout
bounds them). SMS turns only: a USSD screen costs the operator no
segments, and the screens' own pace bounds them.
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.session import Subscriber

WINDOW_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class ReplyBudget:
    burst: float = 12
    per_window: float = 20

    def allows(self, subscriber: Subscriber, now: float) -> bool:
        """Refill for the time passed; whether a turn may run now."""
        tokens = self.burst if subscriber.reply_tokens is None else subscriber.reply_tokens
        refill = max(now - subscriber.reply_tokens_at, 0.0) * self.per_window / WINDOW_SECONDS
        subscriber.reply_tokens = min(self.burst, tokens + refill)
        subscriber.reply_tokens_at = now
        return subscriber.reply_tokens >= 1

    def spend(self, subscriber: Subscriber, segments: int) -> None:
        subscriber.reply_tokens = (subscriber.reply_tokens or 0.0) - segments
        subscriber.reply_limit_told = False

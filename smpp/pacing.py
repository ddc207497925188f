"""A token bucket for the SMSC's TPS limit: at most `rate` PDUs per second.

The burst defaults to one PDU: SMSCs usually count per second, and a bucket that starts full
with more would let `rate + burst` PDUs through in the first second and get ESME_RTHROTTLED.
"""

from __future__ import annotations

import asyncio
import time


class TokenBucket:
    def __init__(self, rate: float, burst: float = 1.0) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1 (got {rate}, {burst})")
        self._rate = rate
        self._capacity = burst
        self._tokens = burst
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self, tokens: int = 1) -> None:
        """Wait for `tokens` (at most the burst); callers are served in order."""
        tokens = min(tokens, int(self._capacity))
        async with self._lock:
            self._refill()
            if self._tokens < tokens:
                await asyncio.sleep((tokens - self._tokens) / self._rate)
                self._refill()
            self._tokens -= tokens

    def available(self, tokens: int = 1) -> bool:
        """Whether `tokens` could be taken now without waiting (nobody else queued)."""
        self._refill()
        return not self._lock.locked() and self._tokens >= min(tokens, int(self._capacity))

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

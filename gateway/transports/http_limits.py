"""Bounds on the aggregator callbacks: a request beyond them is answered at once, never queued.

    in flight on /ussd and /sms/inbound, this process  > http.max_concurrent_requests   -> 503
    in flight from one peer address                    > http.max_concurrent_per_source -> 429
    USSD hops waiting for their screen                 > http.max_screen_waits          -> 503
                                                         (http_callbacks, before storing)

Every refusal carries `Retry-After: 1` and stores nothing. The source is the TCP peer address
(`request.remote`): behind a reverse proxy every request has the proxy's address, so the
per-source limit then bounds the proxy as a whole (X-Forwarded-For is not trusted).

Counters, not semaphores: the event loop runs one handler step at a time, so a check and its
increment cannot interleave, and nothing ever waits for a slot.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

log = logging.getLogger("gateway.transports.http_limits")

LIMITED: Final = frozenset({"/ussd", "/sms/inbound"})
RETRY_AFTER_SECONDS: Final = 1


class Slots:
    """At most ``limit`` holders at once; `hold` says whether one was free (never waits)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_use = 0

    @contextlib.contextmanager
    def hold(self) -> Iterator[bool]:
        if self.in_use >= self.limit:
            yield False
            return
        self.in_use += 1
        try:
            yield True
        finally:
            self.in_use -= 1


class RefusalLog:
    """A warning per `every` seconds at most, counting the refusals in between: a flood of
    refusals must not become a flood of log lines."""

    def __init__(self, every: float = 1.0) -> None:
        self._every = every
        self._last = -every
        self._quiet = 0

    def refused(self, what: str) -> None:
        now = time.monotonic()
        if now - self._last < self._every:
            self._quiet += 1
            return
        log.warning("%s (and %d more refusals since the last warning)", what, self._quiet)
        self._last, self._quiet = now, 0


class SourceSlots:
    """`Slots` per source, forgetting a source once it holds none."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: Counter[str] = Counter()

    @contextlib.contextmanager
    def hold(self, source: str) -> Iterator[bool]:
        if self._held[source] >= self.limit:
            yield False
            return
        self._held[source] += 1
        try:
            yield True
        finally:
            self._held[source] -= 1
            if self._held[source] <= 0:
                del self._held[source]


def too_busy(status: int, reason: str, *, json: bool) -> web.Response:
    """503 or 429 with Retry-After, plain text for /ussd, JSON for /sms/inbound."""
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if json:
        return web.json_response({"status": "error", "reason": reason}, status=status, headers=headers)
    return web.Response(text=reason, status=status, headers=headers, content_type="text/plain",
                        charset="utf-8")


def concurrency_middleware(
    max_requests: int, max_per_source: int, on_refused: Callable[[str], None] = lambda limit: None
) -> Middleware:
    """The process-wide and per-source limits on the callbacks (other routes are not counted).
    `on_refused` is told the limit's setting name at each refusal (the metrics count them)."""
    everyone = Slots(max_requests)
    sources = SourceSlots(max_per_source)
    refusals = RefusalLog()

    @web.middleware
    async def limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in LIMITED:
            return await handler(request)
        json = request.path != "/ussd"
        with everyone.hold() as admitted, sources.hold(request.remote or "") as fair:
            if not admitted:
                on_refused("max_concurrent_requests")
                refusals.refused(f"{request.path} refused: {everyone.limit} requests in flight")
                return too_busy(503, "too many requests in flight, try again later", json=json)
            if not fair:
                on_refused("max_concurrent_per_source")
                refusals.refused(f"{request.path} refused: {sources.limit} requests in flight "
                                 "from one source")
                return too_busy(429, "too many requests from this source, try again later", json=json)
            return await handler(request)

    return limit

"""A shared-secret check for the aggregator callbacks: with `http.aggregator_token` set, a
request to /ussd or /sms/inbound must carry it in the `X-Hamta-Token` header (compared in
constant time), otherwise it is answered 401 and nothing is stored. Without the setting the
callbacks are open, for local use: the gateway then refuses to listen on a non-loopback
`http.host` unless `http.allow_insecure` (gateway/settings.py); production sets it
(docs/operations.md)."""

from __future__ import annotations

import hmac

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

PROTECTED = ("/ussd", "/sms/inbound")
HEADER = "X-Hamta-Token"


def token_middleware(token: str) -> Middleware:
    expected = token.encode("utf-8")

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in PROTECTED:
            # aiohttp keeps undecodable header bytes as surrogates: give them back as bytes.
            given = request.headers.get(HEADER, "").encode("utf-8", "surrogateescape")
            if not hmac.compare_digest(given, expected):
                return web.Response(status=401, text=f"missing or wrong {HEADER} header")
        return await handler(request)

    return check

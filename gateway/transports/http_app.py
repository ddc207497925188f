"""HTTP: /healthz (the process is up), /readyz (Redis reachable and SMPP bound), the web console
under /console/ (gateway/console), and any further routes given, such as the aggregator
callbacks of `gateway.transports.http_callbacks.ussd_routes`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from aiohttp.typedefs import Middleware

from gateway.console import ConsoleOptions, add_console_routes

ReadinessCheck = Callable[[], Awaitable[list[str]]]
READINESS: web.AppKey[ReadinessCheck] = web.AppKey("readiness")


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "up"})


async def readyz(request: web.Request) -> web.Response:
    problems = await request.app[READINESS]()
    if problems:
        return web.json_response({"status": "not ready", "reasons": problems}, status=503)
    return web.json_response({"status": "ready"})


def build_http_app(
    readiness: ReadinessCheck, routes: Iterable[web.AbstractRouteDef] = (),
    middlewares: Iterable[Middleware] = (), *, client_max_size: int = 64 * 1024,
    console: ConsoleOptions | None = None,
) -> web.Application:
    """`client_max_size`: the largest request body read (http.max_body_bytes); larger is 413."""
    app = web.Application(middlewares=list(middlewares), client_max_size=client_max_size)
    app[READINESS] = readiness
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.add_routes(routes)
    if console is not None:
        add_console_routes(app, console)
    return app

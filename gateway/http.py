"""HTTP: /healthz (the process is up) and /readyz (Redis reachable and SMPP bound)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

ReadinessCheck = Callable[[], Awaitable[list[str]]]
READINESS = web.AppKey("readiness", ReadinessCheck)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "up"})


async def readyz(request: web.Request) -> web.Response:
    problems = await request.app[READINESS]()
    if problems:
        return web.json_response({"status": "not ready", "reasons": problems}, status=503)
    return web.json_response({"status": "ready"})


def build_http_app(readiness: ReadinessCheck) -> web.Application:
    app = web.Application()
    app[READINESS] = readiness
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app

"""The web console's routes on the gateway's HTTP port (`http.host:http.port`).

    GET /                        -> 302 /console/ (when nothing else serves /)
    GET /console/                the page (index.html); assets under /console/assets/
    GET /console/config.json     {admin_url, phone_enabled, shortcode, ussd_code, phone_numbers}
    GET /console/api/recent      the newest audit records, numbers masked (gateway/console/recent.py)
    + the phone's routes (gateway/console/phone.py), only when a `PhoneDriver` is given (the demo)

The page reads `/metrics` (same origin) itself and talks to the admin API (its own port, its
own token, typed into the page) from the browser: the console holds no secret and adds no
power; what it serves is what the HTTP port already shows, plus masked audit records.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from gateway.console.phone import PhoneDriver, add_phone_routes
from gateway.errors import FOREIGN_RETRYABLE
from gateway.settings import is_loopback

STATIC: Final = Path(str(files("gateway.console").joinpath("static")))
# No inline script or style, no other origin but the admin API's (typed in, so any): a value
# shown in the page can never run as code.
PAGE_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self' http: https:; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
    "Content-Type": "text/html; charset=utf-8",
}
# The only files served, with their charset: Persian in a script must not depend on a guess.
ASSETS: Final = {
    **{
        f"{name}.js": "text/javascript; charset=utf-8"
        for name in ("app", "admin", "dashboard", "dom", "metrics", "numbers", "phone")
    },
    "app.css": "text/css; charset=utf-8",
}
WILDCARD_HOSTS: Final = frozenset({"", "0.0.0.0", "::", "[::]"})

RecentReader = Callable[[int], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True, slots=True)
class AdminAddress:
    """Where the admin API listens; `port()` is read per request (it may be bound to port 0)."""

    host: str
    port: Callable[[], int | None]


@dataclass(frozen=True, slots=True)
class ConsoleOptions:
    shortcode: str
    ussd_code: str
    recent: RecentReader | None = None
    phone: PhoneDriver | None = None
    admin: AdminAddress | None = None


OPTIONS: web.AppKey[ConsoleOptions] = web.AppKey("console_options")


def add_console_routes(app: web.Application, options: ConsoleOptions) -> None:
    app[OPTIONS] = options
    app.router.add_get("/console", _to_console)
    app.router.add_get("/console/", index)
    app.router.add_get("/console/assets/{name}", asset)
    app.router.add_get("/console/config.json", config)
    app.router.add_get("/console/api/recent", recent)
    if options.phone is not None:
        add_phone_routes(app, options.phone)
    if not any(resource.canonical == "/" for resource in app.router.resources()):
        app.router.add_get("/", _to_console)


async def _to_console(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/console/")


async def index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)


async def asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in ASSETS:
        raise web.HTTPNotFound()
    return web.FileResponse(
        STATIC / "assets" / name, headers={"Content-Type": ASSETS[name], "Cache-Control": "no-cache"}
    )


async def config(request: web.Request) -> web.Response:
    options = request.app[OPTIONS]
    phone = options.phone
    numbers = [] if phone is None else [{"msisdn": n.msisdn, "label": n.label} for n in phone.numbers]
    return web.json_response({
        "admin_url": admin_url(options.admin, request.url.host or "127.0.0.1"),
        "phone_enabled": phone is not None,
        "shortcode": options.shortcode,
        "ussd_code": options.ussd_code,
        "phone_numbers": numbers,
    }, headers={"Cache-Control": "no-store"})  # fmt: skip


def admin_url(admin: AdminAddress | None, page_host: str) -> str:
    """The admin API as this browser reaches it; "" when unknown. Bound to loopback or every
    address, it is on the host the browser reached the console by (directly, or through the
    same SSH tunnel); bound to one address, there."""
    port = admin.port() if admin is not None else None
    if admin is None or not port:
        return ""
    host = page_host if admin.host in WILDCARD_HOSTS or is_loopback(admin.host) else admin.host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


async def recent(request: web.Request) -> web.Response:
    reader = request.app[OPTIONS].recent
    try:
        limit = int(request.query.get("limit", "20"))
    except ValueError:
        return web.json_response({"error": "limit: an integer"}, status=400)
    if reader is None:
        return web.json_response({"records": []})
    try:
        records = await reader(limit)
    except FOREIGN_RETRYABLE as exc:
        return web.json_response({"error": f"redis unavailable: {type(exc).__name__}"}, status=503)
    return web.json_response({"records": records}, headers={"Cache-Control": "no-store"})

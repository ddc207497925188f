"""The console's options from the gateway's settings and resources, in one place."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from redis.asyncio import Redis

from gateway.console.phone import PhoneDriver
from gateway.console.recent import recent_audit
from gateway.console.routes import AdminAddress, ConsoleOptions
from gateway.settings import Settings
from gateway.store.keys import Keys


def console_options(
    settings: Settings, redis: Redis, keys: Keys, phone: PhoneDriver | None = None,
    admin_port: Callable[[], int | None] | None = None,
) -> ConsoleOptions:  # fmt: skip
    """`admin_port`: the admin API's bound port, when the gateway knows it (else `admin.port`)."""
    return ConsoleOptions(
        shortcode=settings.service.shortcode,
        ussd_code=settings.service.ussd_code,
        recent=partial(recent_audit, redis, keys),
        phone=phone,
        admin=_admin_address(settings, admin_port),
    )


def _admin_address(settings: Settings, bound: Callable[[], int | None] | None) -> AdminAddress | None:
    # The `admin` settings section (admin.host, admin.port) comes with the admin API (issue 11,
    # point 2); read defensively so the console runs with or without it.
    admin = getattr(settings, "admin", None)
    host, port = getattr(admin, "host", None), getattr(admin, "port", None)
    if not isinstance(host, str) or not isinstance(port, int):
        return None
    return AdminAddress(host, bound or (lambda: port))

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


def _admin_address(settings: Settings, bound: Callable[[], int | None] | None) -> AdminAddress:
    """The admin API's address as the console offers it: the bound port once known (admin.port
    0 picks one), else the configured one."""
    host, port = settings.admin.host, settings.admin.port
    return AdminAddress(host, lambda: (bound() if bound else None) or port)

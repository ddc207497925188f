"""Every error the gateway process raises, in one tree; each says whether trying again can help.

    GatewayError                     retryable
     ├── SettingsError               no    a setting is missing or invalid (exit 2, names the key)
     ├── StartupFailed               no    a resource could not be opened; what was opened is closed
     ├── FixtureError (ValueError)   no    a registry fixture is invalid (names the entry)
     ├── StorageUnavailable          yes   Redis did not answer or refused; nothing was stored
     ├── LeaseLost                   no    the partition moved to another process mid-turn
     ├── MessageRejected             no    the SMSC refused a part permanently (dead-lettered)
     ├── BadRequest                  no    an HTTP callback's request is malformed (HTTP 400)
     │    ├── UnsupportedMediaType   no    a Content-Type or Content-Encoding it does not read (415)
     │    └── BodyTooLarge           no    a body over http.max_body_bytes (413)
     └── PhoneRefused                no    the web console's phone cannot do that now (HTTP 409)

The SMPP layer has its own tree (`smpp.errors`), with the same `retryable` attribute. Errors of
libraries we do not own are classified once, here (`FOREIGN_RETRYABLE`): a Redis or socket error
is worth another try. The retry loops (`gateway.store.streams.retrying`, the SMPP intake, the
HTTP callbacks) ask `is_retryable`, never a list of their own.
"""

from __future__ import annotations

from typing import ClassVar, Final

from redis.exceptions import RedisError


class GatewayError(Exception):
    """The root of the gateway's errors."""

    retryable: ClassVar[bool] = False


class SettingsError(GatewayError):
    """A setting is missing or invalid; the message names each bad key."""


class StartupFailed(GatewayError):
    """A resource could not be opened at start-up; the message says which and why."""


class FixtureError(GatewayError, ValueError):
    """A registry fixture is invalid; the message names the entry. Nothing was changed."""


class StorageUnavailable(GatewayError):
    """Redis could not be reached or refused the command; nothing was stored. Try again."""

    retryable = True


class LeaseLost(GatewayError):
    """The partition moved to another process while this turn ran: its holder runs it again."""


class MessageRejected(GatewayError):
    """The SMSC refused a part with a permanent status; the reply goes to the dead letters."""


class BadRequest(GatewayError):
    """An HTTP callback's request is malformed; the reason goes back to the aggregator."""

    status: ClassVar[int] = 400  # the HTTP answer


class UnsupportedMediaType(BadRequest):
    """The body's Content-Type (or Content-Encoding) is not one the callback reads."""

    status = 415


class BodyTooLarge(BadRequest):
    """The body is larger than http.max_body_bytes."""

    status = 413


class PhoneRefused(GatewayError):
    """The web console's demo phone cannot act now (no USSD screen waits for an answer, the
    gateway is not bound to the simulator); the reason is shown in the browser."""

    status: ClassVar[int] = 409


# redis-py lets some socket errors through unwrapped, hence OSError (and TimeoutError) too.
FOREIGN_RETRYABLE: Final = (RedisError, OSError, TimeoutError)


def is_retryable(exc: BaseException) -> bool:
    """Whether the same call may succeed later: our errors say so themselves."""
    retryable = getattr(type(exc), "retryable", None)
    if isinstance(retryable, bool):
        return retryable
    return isinstance(exc, FOREIGN_RETRYABLE)

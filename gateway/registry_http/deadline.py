"""The deadline of the turn in progress, for every registry call it makes (a context variable:
the worker sets it around a turn, the HTTP client bounds its timeouts and retries by it)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar

_deadline: ContextVar[float | None] = ContextVar("registry_deadline", default=None)


@contextlib.contextmanager
def turn_deadline(seconds: float) -> Iterator[None]:
    """Registry calls made inside end `seconds` from now at the latest (monotonic clock)."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining(default: float) -> float:
    """Seconds left before the turn's deadline; `default` outside a turn."""
    deadline = _deadline.get()
    return default if deadline is None else deadline - time.monotonic()

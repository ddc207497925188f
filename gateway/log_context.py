"""Context for log lines, bound once per message in a contextvar (STYLE.md 10).

A worker binds the message's id, its masked number and its partition when it takes the entry;
every line logged while that entry is handled (by any module, in the same task or a task it
starts) carries them, in the text format as ``key=value`` after the message and in the JSON
format as fields. Only masked or non-personal values may be bound.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import Final

_EMPTY: Final[Mapping[str, str]] = MappingProxyType({})
_CONTEXT: ContextVar[Mapping[str, str]] = ContextVar("hamta_log_context", default=_EMPTY)


@contextlib.contextmanager
def bound(**values: object) -> Iterator[None]:
    """Add ``values`` to the context of the lines logged inside the block."""
    merged = {**_CONTEXT.get(), **{key: str(value) for key, value in values.items()}}
    token = _CONTEXT.set(MappingProxyType(merged))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def current() -> Mapping[str, str]:
    return _CONTEXT.get()

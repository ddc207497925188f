"""The event loop the long-running commands run on: uvloop where it is installed (Linux and
macOS; it roughly halves the loop's own cost per socket event, which is most of a turn's
overhead under load), else asyncio's. `HAMTA_EVENT_LOOP=asyncio` forces asyncio's, to
compare or to debug."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    if os.environ.get("HAMTA_EVENT_LOOP", "uvloop") == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)

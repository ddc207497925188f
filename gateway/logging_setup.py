"""Logging: one line per record on stderr, personal data masked (DESIGN.md §5), as text or JSON.

``logging.format: text`` (the default)::

    2024-05-01T09:30:00.123Z INFO gateway.worker turn for 0912***4567: flow=restore ...
        [message_id=… number=0912***4567 partition=3]  (all on one line)

``logging.format: json``, one object per line: ``ts``, ``level``, ``logger``, ``msg``, the bound
context (gateway/log_context.py) as fields, and ``exc`` / ``stack`` when there are any.

:class:`MaskingFilter` masks every rendered message, traceback and stack (gateway/log_masking.py)
before a handler writes it. ``logging.smpp_trace: true`` turns on the PDU trace (smpp/trace.py)
on its own logger, ``hamta.smpp.trace``, at DEBUG whatever ``logging.level`` is; without it that
logger is off even at DEBUG.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Final, Literal, TextIO

from gateway.log_context import current
from gateway.log_masking import mask_text as mask_text  # re-exported
from smpp.trace import TRACE_LOGGER

LogFormat = Literal["text", "json"]
LOG_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s %(message)s"
DATE_FORMAT: Final = "%Y-%m-%dT%H:%M:%S"
_CONTEXT_ATTR: Final = "hamta_context"
_CORE_FIELDS: Final = ("ts", "level", "logger", "msg", "exc", "stack")


class MaskingFilter(logging.Filter):
    """Masks a record's message, traceback and stack, and attaches the bound log context; never
    drops one.

    Attach it to a handler (a logger's filters do not see records of its children).
    The record is rewritten in place, so every handler after it sees the masked text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: log what was given, masked
            message = f"{record.msg} {record.args!r}"
        record.msg = mask_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        if not hasattr(record, _CONTEXT_ATTR):  # bound where the record was made
            setattr(record, _CONTEXT_ATTR, {k: mask_text(v) for k, v in current().items()})
        return True


def _context(record: logging.LogRecord) -> dict[str, str]:
    context: dict[str, str] = getattr(record, _CONTEXT_ATTR, {})
    return context


def _timestamp(record: logging.LogRecord) -> str:
    stamp = time.strftime(DATE_FORMAT, time.gmtime(record.created))
    return f"{stamp}.{int(record.msecs):03d}Z"


class _TextFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _timestamp(record)

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        context = _context(record)
        if not context:
            return line
        return f"{line} [{' '.join(f'{key}={value}' for key, value in context.items())}]"


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {"ts": _timestamp(record), "level": record.levelname,
                                 "logger": record.name, "msg": record.getMessage()}
        entry |= {key: value for key, value in _context(record).items() if key not in _CORE_FIELDS}
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


class GatewayLogHandler(logging.StreamHandler[TextIO]):
    """A stream handler (stderr by default) with the line format and the masking filter."""

    def __init__(self, stream: TextIO | None = None, fmt: LogFormat = "text") -> None:
        super().__init__(stream if stream is not None else sys.stderr)
        formatter = _JsonFormatter() if fmt == "json" else _TextFormatter(LOG_FORMAT, DATE_FORMAT)
        self.setFormatter(formatter)
        self.addFilter(MaskingFilter())


def configure_logging(
    level: str = "INFO", *, stream: TextIO | None = None, fmt: LogFormat = "text",
    smpp_trace: bool = False,
) -> GatewayLogHandler:
    """Send records at ``level`` and above to stderr, one masked line each.

    Calling it again replaces the handler it installed before; handlers others installed
    (pytest's) are kept. Returns the installed handler.
    """
    levels = logging.getLevelNamesMapping()
    if level.upper() not in levels:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(levels)}")
    if fmt not in ("text", "json"):
        raise ValueError(f"unknown log format {fmt!r}; use text or json")
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, GatewayLogHandler)]:
        root.removeHandler(old)
        old.close()
    handler = GatewayLogHandler(stream, fmt)
    root.addHandler(handler)
    root.setLevel(levels[level.upper()])
    logging.getLogger(TRACE_LOGGER).setLevel(logging.DEBUG if smpp_trace else logging.CRITICAL + 1)
    return handler

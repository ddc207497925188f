"""Logging: one line per record on stderr, with digit runs masked (DESIGN.md §5).

Code masks what it logs itself (``mask_msisdn``, ``mask_digits``); :class:`MaskingFilter`
is the defence in depth behind that: any run of 10 or more digits left in a rendered
message, traceback or stack is masked before a handler writes it, so logs never hold a
full phone number, IMEI or national ID.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Final, TextIO

from flows.normalize import mask_digits, mask_msisdn, to_ascii_digits

LOG_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s %(message)s"
DATE_FORMAT: Final = "%Y-%m-%dT%H:%M:%S"

# \d matches Persian and Arabic-Indic digits too: those runs are masked as well. A run may
# be written with single separators (0912 111 0001, 35-209900-176148-1); 6 digits are enough
# to be a confirmation code.
_DIGIT_RUN: Final = re.compile(r"\+?\d(?:[ \-./\u200c]?\d){5,}")
_SEPARATOR: Final = re.compile(r"[ \-./\u200c]")
_MOBILE: Final = re.compile(r"\+?(?:0098|98|0)9[0-9]{9}", re.ASCII)


def _mask_run(match: re.Match[str]) -> str:
    run = _SEPARATOR.sub("", to_ascii_digits(match.group()))
    if _MOBILE.fullmatch(run):
        return mask_msisdn(run)
    return mask_digits(run.lstrip("+"))


def mask_text(text: str) -> str:
    """``text`` with every run of 6+ digits masked (mobile numbers as ``0912***4567``)."""
    return _DIGIT_RUN.sub(_mask_run, text)


class MaskingFilter(logging.Filter):
    """Masks long digit runs in a record's message, traceback and stack; never drops one.

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
        return True


class _UtcFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = time.strftime(datefmt or DATE_FORMAT, time.gmtime(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"


class GatewayLogHandler(logging.StreamHandler[TextIO]):
    """A stream handler (stderr by default) with the line format and the masking filter."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream if stream is not None else sys.stderr)
        self.setFormatter(_UtcFormatter(LOG_FORMAT, DATE_FORMAT))
        self.addFilter(MaskingFilter())


def configure_logging(level: str = "INFO", *, stream: TextIO | None = None) -> GatewayLogHandler:
    """Send records at ``level`` and above to stderr, one masked line each.

    ``2024-05-01T09:30:00.123Z INFO gateway.worker message``. Calling it again replaces
    the handler it installed before; handlers others installed (pytest's) are kept.
    Returns the installed handler.
    """
    levels = logging.getLevelNamesMapping()
    if level.upper() not in levels:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(levels)}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, GatewayLogHandler)]:
        root.removeHandler(old)
        old.close()
    handler = GatewayLogHandler(stream)
    root.addHandler(handler)
    root.setLevel(levels[level.upper()])
    return handler

"""Logging: the line format and the masking filter (logs never hold a full number)."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest

from gateway.logging_setup import (
    GatewayLogHandler,
    MaskingFilter,
    configure_logging,
    mask_text,
)

LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (?P<level>[A-Z]+) (?P<logger>\S+) (?P<message>.*)$"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("from 989121234567", "from 0912***4567"),
        ("from +989121234567 ok", "from 0912***4567 ok"),
        ("from 09121234567", "from 0912***4567"),
        ("from 00989121234567", "from 0912***4567"),
        ("from ۰۹۱۲۱۲۳۴۵۶۷", "from 0912***4567"),
        ("imei=352099001761481", "imei=35***81"),
        ("national id 0499370899", "national id 04***99"),
        ("landline 02188776655", "landline 02***55"),
        ("a=352099001761481,b=989121110001", "a=35***81,b=0912***0001"),
        ("code 123456 sent", "code *** sent"),  # a confirmation code
        ("port 2775 partition 7", "port 2775 partition 7"),  # short numbers stay
        ("imei 35-209900-176148-1", "imei 35***81"),
        ("from 0912 111 0001", "from 0912***0001"),
        ("from +98 912 111 0001", "from 0912***0001"),
        ("no digits at all", "no digits at all"),
    ],
)
def test_mask_text(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = GatewayLogHandler(stream)
    logger = logging.getLogger("hamta.test.logging")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def test_line_format(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.warning("queue %s is %d deep", "outbound", 3)
    [line] = stream.getvalue().splitlines()
    match = LINE.match(line)
    assert match, line
    assert match["level"] == "WARNING"
    assert match["logger"] == "hamta.test.logging"
    assert match["message"] == "queue outbound is 3 deep"


def test_args_are_masked(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.info("MO from %s for imei %s", "989121234567", 352099001761481)
    output = stream.getvalue()
    assert "MO from 0912***4567 for imei 35***81" in output
    assert "9121234567" not in output
    assert "352099001761481" not in output


def test_traceback_and_stack_are_masked(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    try:
        raise ValueError("unknown national id 0499370899")
    except ValueError:
        logger.exception("lookup failed for %s", "09121234567")
    logger.error("with stack", stack_info=True)
    output = stream.getvalue()
    assert "lookup failed for 0912***4567" in output
    assert "ValueError: unknown national id 04***99" in output
    assert "0499370899" not in output
    assert "Stack (most recent call last)" in output


def test_malformed_call_is_logged_masked(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.info("MO %d", "989121234567")
    output = stream.getvalue()
    assert "MO %d ('0912***4567',)" in output
    assert "9121234567" not in output


def test_filter_keeps_records_and_rewrites_them_for_later_handlers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("hamta.test.filter")
    logger.addFilter(MaskingFilter())
    try:
        with caplog.at_level(logging.INFO, logger="hamta.test.filter"):
            logger.info("SIM %s expired", "+989121234567")
    finally:
        logger.filters.clear()
    assert caplog.messages == ["SIM 0912***4567 expired"]


def test_configure_logging_installs_one_handler_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    before_level = root.level
    try:
        configure_logging("debug")
        configure_logging("INFO")  # idempotent: replaces its own handler
        ours = [h for h in root.handlers if isinstance(h, GatewayLogHandler)]
        assert len(ours) == 1
        assert root.level == logging.INFO
        logging.getLogger("gateway.worker").info("delivered to %s", "989361110003")
        logging.getLogger("gateway.worker").debug("not shown")
        err = capsys.readouterr().err
    finally:
        for handler in [h for h in root.handlers if isinstance(h, GatewayLogHandler)]:
            root.removeHandler(handler)
        root.setLevel(before_level)
    lines = err.splitlines()
    assert len(lines) == 1
    match = LINE.match(lines[0])
    assert match, lines[0]
    assert (match["level"], match["logger"]) == ("INFO", "gateway.worker")
    assert match["message"] == "delivered to 0936***0003"


def test_configure_logging_rejects_unknown_level() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging("LOUD")

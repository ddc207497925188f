"""Logging: the line format and the masking filter (logs never hold a full number)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from gateway.log_context import bound, current
from gateway.logging_setup import (
    GatewayLogHandler,
    MaskingFilter,
    configure_logging,
    mask_text,
)
from smpp.trace import TRACE_LOGGER

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
        # every accepted form of a mobile number
        ("to 912 111 0001", "to 0912***0001"),
        ("to 0098 912 111 0001", "to 0912***0001"),
        ("to ۹۸۹۱۲۱۱۱۰۰۰۱", "to 0912***0001"),
        ("to ٠٩١٢١١١٠٠٠١", "to 0912***0001"),
        ("to 0912-111-0001.", "to 0912***0001."),
        # IMEIs (15, 16 with /SV) and national IDs (10), in any digits
        ("imei ۴۹۰۱۵۴۲۰۳۲۳۷۵۱۸", "imei 49***18"),
        ("imeisv 4901542032375186", "imeisv 49***86"),
        ("nid ۵۵۱۲۳۴۵۶۷۲", "nid 55***72"),
        # birth dates (Jalali), not the log's own Gregorian dates
        ("born 1368/02/20", "born ****/**/**"),
        ("born ۱۳۶۸/۲/۲۰", "born ****/**/**"),
        ("born 1359-9-29", "born ****/**/**"),
        ("born 70/5/12", "born ****/**/**"),
        ("born 13680220", "born ****/**/**"),
        ("on 2026-12-03 at 08:45:34", "on 2026-12-03 at 08:45:34"),
        # codes and passwords by context, not every 6-digit run
        ("code: 482915", "code: ***"),
        ("کد تایید همتا: ۴۸۲۹۱۵ .", "کد تایید همتا: *** ."),
        ("otp=482915", "otp=***"),
        ("password: Ab3dEfGh9k", "password: ***"),
        ("password=hunter", "password=***"),
        ("new password is Ab3dEfGh9k", "new password is ***"),
        ("رمز جدید کارتابل کد ملی همتا: Ab3dEfGh9k . آن", "رمز جدید کارتابل کد ملی همتا: *** . آن"),
        ("password sent to 0912***0001 in 1 part(s)", "password sent to 0912***0001 in 1 part(s)"),
        ("turn flow=password step=ask_birth_date", "turn flow=password step=ask_birth_date"),
        # what must stay readable
        ("HTTP listening on 127.0.0.1:38909", "HTTP listening on 127.0.0.1:38909"),
        ("SMPP link to 10.20.30.40:2775 lost", "SMPP link to 10.20.30.40:2775 lost"),
        ("inbound entry 1764751534123-0 moved", "inbound entry 1764751534123-0 moved"),
        ("outbound 1764751534123-0/1 sent", "outbound 1764751534123-0/1 sent"),
        ("starting gateway vm:4194303:5b95475d", "starting gateway vm:4194303:5b95475d"),
        ("pid 123456 exited", "pid 123456 exited"),
        ("took partition 1023", "took partition 1023"),
        ("receipt DELIVRD for message_id 1234567890", "receipt DELIVRD for message_id 1234567890"),
        ("receipt id 0000123456789012", "receipt id 0000123456789012"),
        ("message id 5f06f7148a40b013", "message id 5f06f7148a40b013"),
        ("aiohttp 3.14.5 on 192.168.1.10", "aiohttp 3.14.5 on 192.168.1.10"),
        ("16 partitions, lease 15.0s, 200 waits", "16 partitions, lease 15.0s, 200 waits"),
        # a number is a number even where an id is named
        ("message_id 09121110001", "message_id 0912***0001"),
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


def test_json_lines_carry_the_bound_context() -> None:
    stream = io.StringIO()
    handler = GatewayLogHandler(stream, "json")
    logger = logging.getLogger("hamta.test.json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        with bound(message_id="1764751534123-0", number="0936***0003"):
            logger.info("turn for %s", "989361110003")
        logger.warning("outside")
        try:
            raise ValueError("national id 0499370899")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    first, second, third = (json.loads(line) for line in stream.getvalue().splitlines())
    assert set(first) == {"ts", "level", "logger", "msg", "message_id", "number"}
    assert (first["level"], first["logger"]) == ("INFO", "hamta.test.json")
    assert first["msg"] == "turn for 0936***0003"
    assert (first["message_id"], first["number"]) == ("1764751534123-0", "0936***0003")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["ts"])
    assert set(second) == {"ts", "level", "logger", "msg"}
    assert "national id 04***99" in third["exc"] and "0499370899" not in stream.getvalue()


def test_text_lines_carry_the_bound_context(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    with bound(message_id="1764751534123-0", partition=3):
        logger.info("inside")
        with bound(number="0936***0003"):
            logger.info("nested")
    logger.info("after")
    inside, nested, after = (LINE.match(line)["message"] for line in stream.getvalue().splitlines())  # type: ignore[index]
    assert inside == "inside [message_id=1764751534123-0 partition=3]"
    assert nested == "nested [message_id=1764751534123-0 partition=3 number=0936***0003]"
    assert after == "after"


async def test_context_is_per_task() -> None:
    """Two partitions' workers run at once, each its own message's context."""
    seen: dict[str, str] = {}

    async def work(message_id: str, other_done: asyncio.Event, done: asyncio.Event) -> None:
        with bound(message_id=message_id):
            done.set()
            await other_done.wait()
            seen[message_id] = current()["message_id"]

    a, b = asyncio.Event(), asyncio.Event()
    await asyncio.gather(work("1-0", b, a), work("2-0", a, b))
    assert seen == {"1-0": "1-0", "2-0": "2-0"}
    assert current() == {}


def test_configure_logging_json_and_trace(capsys: pytest.CaptureFixture[str]) -> None:
    root, trace = logging.getLogger(), logging.getLogger(TRACE_LOGGER)
    before_level, before_trace = root.level, trace.level
    try:
        configure_logging("INFO", fmt="json", smpp_trace=True)
        trace.debug("out enquire_link seq=1 status=ESME_ROK")  # DEBUG, though the level is INFO
        logging.getLogger("gateway.worker").debug("not shown")
        configure_logging("DEBUG")  # no trace even at DEBUG without smpp_trace
        trace.debug("not traced")
        lines = capsys.readouterr().err.splitlines()
    finally:
        for handler in [h for h in root.handlers if isinstance(h, GatewayLogHandler)]:
            root.removeHandler(handler)
        root.setLevel(before_level)
        trace.setLevel(before_trace)
    [line] = lines
    assert json.loads(line)["logger"] == TRACE_LOGGER


def test_configure_logging_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown log format"):
        configure_logging("INFO", fmt="xml")  # type: ignore[arg-type]

"""Properties, checked with Hypothesis on any text a phone can send (issue 10, part 4).

The normalisers (flows/normalize.py, birth_date.py, national_id.py) and the log masking never
raise, return only what their contracts allow, and are idempotent where that holds. The dialog,
at every step of both flows and on both channels, answers any text with at least one and at most
three SMS replies, or exactly one USSD screen (none only when the user hung up or the network
timed out), and never raises. Deterministic (derandomize) and without a database directory.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from functools import cache
from typing import Any

import jdatetime
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.birth_date import EARLIEST_BIRTH_DATE, birth_date_problem, format_jalali, parse_birth_date
from flows.dialog import Dialog
from flows.dialog_types import FlowConfig
from flows.national_id import national_id_problem, national_id_valid, parse_national_id
from flows.normalize import (
    digits_only,
    imei_problem,
    mask_digits,
    mask_msisdn,
    normalize_text,
    parse_imei,
    parse_msisdn,
    to_ascii_digits,
)
from flows.session import Subscriber
from flows.ussd import SCREEN_CHARS, UssdDialog
from gateway.logging_setup import mask_text
from tests.harness import LOST_SIM_ID, LOST_SIM_NEW, SARA_DEVICE, SARA_NEW, memory_registry

PROPERTY = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

PERSIAN, ARABIC = "۰۱۲۳۴۵۶۷۸۹", "٠١٢٣٤٥٦٧٨٩"
# What subscribers really type, and the characters the normalisers treat specially.
TYPED = ("0123456789" + PERSIAN + ARABIC + " -./+:*#?؟\u066b\u066c\u200c\u200b\u200e\u202b\ufeff"
         "\u2010\u2212\n\tيكیکimeIMEsvSVabcلغوراهنمادوباره" + "²३߁")
KEYWORDS = ["1", "2", "3", "0", "۰", "EN", "fa", "لغو", "cancel", "help", "راهنما", "?", "؟",
            "دوباره", "again", "رمز", "بازیابی", "#", "99", "۹۹", "*7777#", "*7777*1#", ""]


def _digits(draw: Any, count: int) -> str:
    return "".join(draw(st.sampled_from("0123456789")) for _ in range(count))


@st.composite
def numberish(draw: Any) -> str:
    """Digit strings of number-like lengths, in any digit script, with separators inside."""
    digits = _digits(draw, draw(st.integers(6, 17)))
    script = draw(st.sampled_from(["0123456789", PERSIAN, ARABIC]))
    out = []
    for char in digits:
        out.append(script[int(char)])
        if draw(st.integers(0, 5)) == 0:
            out.append(draw(st.sampled_from([" ", "-", ".", "/", "\u200c", "  "])))
    prefix = draw(st.sampled_from(["", "+", "+98", "0098", "98", "0", "IMEI:", "imei "]))
    suffix = draw(st.sampled_from(["", "/01", " / 23", "/SV"]))
    return prefix + "".join(out) + suffix


@st.composite
def dateish(draw: Any) -> str:
    year = draw(st.sampled_from([str(draw(st.integers(1200, 1500))), f"{draw(st.integers(0, 99)):02d}"]))
    month, day = draw(st.integers(0, 13)), draw(st.integers(0, 32))
    separator = draw(st.sampled_from(["/", "-", ".", " / ", "\u066b", "//"]))
    month_text = str(month).zfill(draw(st.integers(1, 2)))
    text = f"{year}{separator}{month_text}{separator}{day}"
    return to_persian(text) if draw(st.booleans()) else text


TEXT = st.one_of(
    st.text(),  # any Unicode at all
    st.text(alphabet=TYPED, max_size=40),
    numberish(),
    dateish(),
    st.sampled_from(KEYWORDS),
)


def to_persian(text: str) -> str:
    return text.translate(str.maketrans("0123456789", PERSIAN))


def luhn(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char) * (1 + i % 2)
        total += value // 10 + value % 10
    return total % 10 == 0


def longest_digit_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"\d+", text)), default=0)


ASCII_DIGITS = re.compile(r"[0-9]+", re.ASCII)

# -- normalisers ------------------------------------------------------------------------------


@PROPERTY
@given(TEXT)
def test_normalize_text(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert not set(once) & set(PERSIAN + ARABIC + "يك")
    assert once == once.strip() and "  " not in once
    assert to_ascii_digits(to_ascii_digits(text)) == to_ascii_digits(text)


@PROPERTY
@given(TEXT)
def test_parse_imei(text: str) -> None:
    imei = parse_imei(text)
    problem = imei_problem(text)
    assert (imei is None) == (problem is not None)
    if imei is not None:
        assert len(imei) == 15 and ASCII_DIGITS.fullmatch(imei) and luhn(imei)
        assert parse_imei(imei) == imei
        assert parse_imei(to_persian(imei)) == imei


@PROPERTY
@given(st.text(alphabet="0123456789", min_size=14, max_size=14))
def test_every_luhn_completed_imei_is_accepted(body: str) -> None:
    imei = next(body + d for d in "0123456789" if luhn(body + d))
    assert parse_imei(imei) == imei and parse_imei(f"{imei[:2]}-{imei[2:8]}-{imei[8:]}/01") == imei
    wrong = body + str((int(imei[-1]) + 1) % 10)
    assert parse_imei(wrong) is None and imei_problem(wrong) == "checksum"


@PROPERTY
@given(TEXT)
def test_parse_msisdn(text: str) -> None:
    msisdn = parse_msisdn(text)
    if msisdn is not None:
        assert re.fullmatch(r"989[0-9]{9}", msisdn, re.ASCII)
        for form in (msisdn, "0" + msisdn[2:], "+" + msisdn, "00" + msisdn, msisdn[2:]):
            assert parse_msisdn(form) == msisdn


@PROPERTY
@given(TEXT)
def test_parse_national_id(text: str) -> None:
    national_id = parse_national_id(text)
    assert (national_id is None) == (national_id_problem(text) is not None)
    if national_id is not None:
        assert len(national_id) == 10 and ASCII_DIGITS.fullmatch(national_id)
        assert national_id_valid(national_id) and parse_national_id(national_id) == national_id


@PROPERTY
@given(TEXT)
def test_parse_birth_date(text: str) -> None:
    today = jdatetime.date(1404, 6, 1)
    date = parse_birth_date(text, today)
    assert (date is None) == (birth_date_problem(text, today) is not None)
    if date is not None:
        assert EARLIEST_BIRTH_DATE <= date <= today
        canonical = format_jalali(date)
        assert re.fullmatch(r"1[34][0-9]{2}/[01][0-9]/[0-3][0-9]", canonical, re.ASCII)
        assert parse_birth_date(canonical, today) == date
        assert parse_birth_date(to_persian(canonical), today) == date


@PROPERTY
@given(TEXT)
def test_digits_only(text: str) -> None:
    digits = digits_only(text)
    assert digits is None or ASCII_DIGITS.fullmatch(digits)


@PROPERTY
@given(TEXT)
def test_masks_keep_at_most_four_digits_in_a_row(text: str) -> None:
    for masked in (mask_msisdn(text), mask_digits(text)):
        assert longest_digit_run(masked) <= 4, masked
        assert "***" in masked


@PROPERTY
@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_mask_msisdn_of_a_mobile_number(rest: str) -> None:
    msisdn = "989" + rest
    local = "0" + msisdn[2:]
    expected = f"{local[:4]}***{local[-4:]}"
    for form in (msisdn, local, "+" + msisdn, to_persian(local)):
        assert mask_msisdn(form) == expected


@PROPERTY
@given(TEXT)
def test_log_masking_leaves_no_number_imei_or_national_id(text: str) -> None:
    """No run of 10+ digits (single spaces or dashes between them) is left, but a Redis stream
    id (13 digits, a dash, a sequence), which is a clock, not a person; masking is idempotent."""
    masked = mask_text(text)
    for run in re.finditer(r"\d(?:[ \-\u200c]?\d)*", masked):
        if re.fullmatch(r"\d{13}-\d{1,6}", run.group()):
            continue
        digits = re.sub(r"[ \-\u200c]", "", to_ascii_digits(run.group()))
        assert len(digits) < 10, masked
    assert mask_text(masked) == masked


# -- the dialog at every step -----------------------------------------------------------------

CONFIG = FlowConfig()
T0 = 1_800_000_000.0
MAX_SMS_REPLIES = 3
# Each step: the requester and what it typed to get there (SMS); USSD dials first.
STEPS: dict[str, tuple[str, list[str]]] = {
    "menu": (SARA_NEW, []),
    "restore: ask IMEI": (SARA_NEW, ["1"]),
    "restore: ask old number": (SARA_NEW, ["1", SARA_DEVICE]),
    "restore: code": (SARA_NEW, ["1", SARA_DEVICE, "09351110002"]),
    "password: ask national ID": (LOST_SIM_NEW, ["2"]),
    "password: ask birth date": (LOST_SIM_NEW, ["2", LOST_SIM_ID]),
    "password: code": (LOST_SIM_NEW, ["2", LOST_SIM_ID, "1368/02/20"]),
}
AFTER = st.sampled_from([1.0, 30.0, CONFIG.code_ttl_seconds + 1.0, CONFIG.session_idle_seconds + 1.0])


@cache
def _dialog() -> Dialog:
    """One registry for all examples: only a guessed code could change it."""
    return Dialog(memory_registry(), CONFIG)


@cache
def _at_step(step: str, channel: str) -> Subscriber:
    """A subscriber at `step`, made once; each example works on a deep copy."""
    msisdn, inputs = STEPS[step]
    subscriber = Subscriber(msisdn=msisdn)

    async def walk() -> None:
        if channel == "ussd":
            ussd = UssdDialog(_dialog())
            await ussd.handle(subscriber, "*7777#", "begin", "dial", T0)
            for i, text in enumerate(inputs):
                assert await ussd.handle(subscriber, text, "continue", f"w{i}", T0 + i + 1) is not None
        else:
            for i, text in enumerate(inputs):
                await _dialog().handle(subscriber, text, f"w{i}", T0 + i + 1)

    asyncio.run(walk())
    if inputs:
        assert subscriber.session is not None, f"{step}: no session"
    return subscriber


def _run(coroutine_factory: Callable[[], Any]) -> Any:
    return asyncio.run(coroutine_factory())


@PROPERTY
@given(step=st.sampled_from(list(STEPS)), texts=st.lists(TEXT, min_size=1, max_size=3),
       after=AFTER)
def test_sms_dialog_answers_any_text(step: str, texts: list[str], after: float) -> None:
    subscriber = _at_step(step, "sms").model_copy(deep=True)
    now = T0 + 100

    async def play() -> None:
        for i, text in enumerate(texts):
            replies = await _dialog().handle(subscriber, text, f"p{i}", now + after * (i + 1))
            assert 1 <= len(replies) <= MAX_SMS_REPLIES, (text, [r.key for r in replies])
            assert all(reply.text.strip() for reply in replies)

    _run(play)


EVENTS = st.sampled_from(["continue", "continue", "continue", "begin", "abort", "timeout"])


@PROPERTY
@given(step=st.sampled_from(list(STEPS)), turns=st.lists(st.tuples(TEXT, EVENTS), min_size=1, max_size=3),
       after=AFTER)
def test_ussd_dialog_shows_one_screen_for_any_text(
    step: str, turns: list[tuple[str, str]], after: float
) -> None:
    subscriber = _at_step(step, "ussd").model_copy(deep=True)
    ussd = UssdDialog(_dialog())
    now = T0 + 100

    async def play() -> None:
        for i, (text, event) in enumerate(turns):
            screen = await ussd.handle(subscriber, text, event, f"p{i}", now + after * (i + 1))
            if event in ("abort", "timeout"):
                assert screen is None
                continue
            assert screen is not None, (text, event)
            assert screen.text.strip() and len(screen.text) <= SCREEN_CHARS
            assert len(screen.text.encode("utf-16-be")) <= 160
            assert len(screen.sms) <= MAX_SMS_REPLIES

    _run(play)

"""Table tests for flows.normalize: what subscribers really type."""

from __future__ import annotations

import pytest

from flows.normalize import (
    digits_only,
    imei_problem,
    luhn_valid,
    mask_digits,
    mask_msisdn,
    normalize_text,
    parse_imei,
    parse_msisdn,
    to_ascii_digits,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("۰۱۲۳۴۵۶۷۸۹", "0123456789"),
        ("٠١٢٣٤٥٦٧٨٩", "0123456789"),
        ("کد ۱۲۳ و ٤٥٦", "کد 123 و 456"),
        ("abc 123", "abc 123"),
        ("", ""),
    ],
)
def test_to_ascii_digits(text: str, expected: str) -> None:
    assert to_ascii_digits(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  بازيابي  ", "بازیابی"),  # Arabic yeh -> Persian yeh
        ("كد ملي", "کد ملی"),  # Arabic kaf -> Persian keheh
        ("راهنما\t\n", "راهنما"),
        ("رمز    عبور", "رمز عبور"),
        ("می\u200cخواهم", "می\u200cخواهم"),  # zero-width non-joiner kept
        ("\u200f۱۲۳\u200e", "123"),  # bidi marks dropped
        ("\ufeffhelp", "help"),
        ("EN", "EN"),
    ],
)
def test_normalize_text(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0912 111 0001", "09121110001"),
        ("0912-111-0001", "09121110001"),
        ("1370/05/12", "13700512"),
        ("۱۲.۳۴", "1234"),
        ("12٫34", "1234"),
        ("12a34", None),
        ("", None),
        ("- /", None),
    ],
)
def test_digits_only(text: str, expected: str | None) -> None:
    assert digits_only(text) == expected


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("490154203237518", True),
        ("355762052793235", True),
        ("352099001761481", True),
        ("356938035643809", True),
        ("79927398713", True),  # the textbook Luhn example
        ("490154203237517", False),
        ("79927398710", False),
        ("", False),
        ("۴۹۰", False),  # not ASCII: normalise first
    ],
)
def test_luhn_valid(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid


VALID_IMEIS = [
    ("490154203237518", "490154203237518"),
    ("355762052793235", "355762052793235"),
    ("352099001761481", "352099001761481"),
    ("356938035643809", "356938035643809"),
    ("35-209900-176148-1", "352099001761481"),
    ("35 209900 176148 1", "352099001761481"),
    ("35/209900/176148/1", "352099001761481"),
    ("35.209900.176148.1", "352099001761481"),
    ("352099001761481/01", "352099001761481"),
    ("352099001761481 / 23", "352099001761481"),
    ("35-209900-176148-1/01", "352099001761481"),
    ("۳۵۲۰۹۹۰۰۱۷۶۱۴۸۱", "352099001761481"),
    ("۳۵-۲۰۹۹۰۰-۱۷۶۱۴۸-۱/۰۱", "352099001761481"),
    ("٤٩٠١٥٤٢٠٣٢٣٧٥١٨", "490154203237518"),
    ("  490154203237518  ", "490154203237518"),
    ("IMEI: 490154203237518", "490154203237518"),
    ("imei 35-576205-279323-5/02", "355762052793235"),
]

INVALID_IMEIS = [
    ("490154203237517", "checksum"),
    ("355762052793236", "checksum"),
    ("35-209900-176148-2", "checksum"),
    ("۳۵۲۰۹۹۰۰۱۷۶۱۴۸۲", "checksum"),
    ("352099001761482/01", "checksum"),
    ("35209900176148", "length"),  # 14 digits
    ("3520990017614810", "length"),  # 16 digits (IMEISV is not accepted)
    ("35209900176148/01", "length"),  # 14 digits + SV
    ("352099001761481/1", "length"),  # a one-digit tail is not an SV: 16 digits
    ("352099001761481/012", "length"),
    ("", "length"),
    ("hello", "length"),
    ("35209900176148a", "length"),
    ("1", "length"),
]


@pytest.mark.parametrize(("text", "expected"), VALID_IMEIS)
def test_parse_imei_valid(text: str, expected: str) -> None:
    assert parse_imei(text) == expected
    assert imei_problem(text) is None


@pytest.mark.parametrize(("text", "problem"), INVALID_IMEIS)
def test_parse_imei_invalid(text: str, problem: str) -> None:
    assert parse_imei(text) is None
    assert imei_problem(text) == problem


MOBILE_FORMS = [
    "09121110001",
    "9121110001",
    "+989121110001",
    "00989121110001",
    "989121110001",
    "+98 912 111 0001",
    "0912 111 0001",
    "0912-111-0001",
    "0912.111.0001",
    "+98 0912 111 0001",
    "0098-912-111-0001",
    "۰۹۱۲۱۱۱۰۰۰۱",
    "۰۹۱۲ ۱۱۱ ۰۰۰۱",
    "+۹۸۹۱۲۱۱۱۰۰۰۱",
    "٠٩١٢١١١٠٠٠١",
    "\u200f09121110001",
]


@pytest.mark.parametrize("text", MOBILE_FORMS)
def test_parse_msisdn_forms(text: str) -> None:
    assert parse_msisdn(text) == "989121110001"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09351110002", "989351110002"),
        ("09361110003", "989361110003"),
        ("09901234567", "989901234567"),
        ("9011234567", "989011234567"),
    ],
)
def test_parse_msisdn_operators(text: str, expected: str) -> None:
    assert parse_msisdn(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "02188776655",  # Tehran landline
        "+982188776655",
        "982188776655",
        "03132221111",  # Isfahan landline
        "0912111000",  # too short
        "091211100011",  # too long
        "912111000",
        "98912111000",
        "9891211100011",
        "+09121110001",
        "+14155550123",  # not Iranian
        "0912111000a",
        "",
        "hello",
        "0",
    ],
)
def test_parse_msisdn_rejects(text: str) -> None:
    assert parse_msisdn(text) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("989121110001", "0912***0001"),
        ("09121234567", "0912***4567"),
        ("+98 912 123 4567", "0912***4567"),
        ("۰۹۱۲۱۲۳۴۵۶۷", "0912***4567"),
        ("not a number", "no***er"),
    ],
)
def test_mask_msisdn(value: str, expected: str) -> None:
    assert mask_msisdn(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("352099001761481", "35***81"),
        ("0499370899", "04***99"),
        ("۰۴۹۹۳۷۰۸۹۹", "04***99"),
        ("12345678", "12***78"),
        ("1234567", "***"),  # short values (codes) are masked whole
        ("123456", "***"),
        ("", "***"),
    ],
)
def test_mask_digits(value: str, expected: str) -> None:
    assert mask_digits(value) == expected

"""Table tests for flows.national_id: national IDs as subscribers type them."""

from __future__ import annotations

import pytest

from flows.national_id import (
    national_id_check_digit,
    national_id_problem,
    national_id_valid,
    parse_national_id,
)

VALID = ["0499370899", "1583250689", "0061234567", "2276543213"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *((code, code) for code in VALID),
        ("61234567", "0061234567"),  # 8 digits, two leading zeros dropped
        ("061234567", "0061234567"),  # 9 digits
        ("499370899", "0499370899"),  # 9 digits, one leading zero dropped
        ("۰۴۹۹۳۷۰۸۹۹", "0499370899"),  # Persian digits
        ("٠٤٩٩٣٧٠٨٩٩", "0499370899"),  # Arabic-Indic digits
        ("۶۱۲۳۴۵۶۷", "0061234567"),  # Persian digits, padded
        ("158-325068-9", "1583250689"),
        ("158 325 0689", "1583250689"),
        ("  2276543213\n", "2276543213"),
        ("227.654.3213", "2276543213"),
        ("\u200f1583250689\u200e", "1583250689"),  # bidi marks
    ],
)
def test_parse_national_id_valid(text: str, expected: str) -> None:
    assert parse_national_id(text) == expected
    assert national_id_problem(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "0499370898",  # check digit off by one
        "1583250680",
        "0061234568",
        "2276543210",
        "61234568",  # padded, wrong check digit
        "1234567890",
        "۰۴۹۹۳۷۰۸۹۸",
    ],
)
def test_wrong_check_digit(text: str) -> None:
    assert parse_national_id(text) is None
    assert national_id_problem(text) == "checksum"


@pytest.mark.parametrize("digit", "0123456789")
def test_all_same_digit_rejected_though_checksum_passes(digit: str) -> None:
    code = digit * 10
    assert national_id_check_digit(code[:9]) == int(digit)
    assert parse_national_id(code) is None
    assert national_id_problem(code) == "checksum"


@pytest.mark.parametrize("text", ["00000000", "000000000"])
def test_all_zero_short_forms_rejected(text: str) -> None:
    assert parse_national_id(text) is None
    assert national_id_problem(text) == "checksum"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "1234567",  # 7 digits: too short to pad
        "6123456",
        "04993708991",  # 11 digits
        "004993708990",
        "0499370899a",
        "۰۴۹۹۳۷۰۸۹x",
        "abc",
        "0499+370899",
        "cancel",
    ],
)
def test_wrong_length_or_not_digits(text: str) -> None:
    assert parse_national_id(text) is None
    assert national_id_problem(text) == "length"


@pytest.mark.parametrize(
    ("first_nine", "expected"),
    [
        ("049937089", 9),
        ("158325068", 9),
        ("006123456", 7),
        ("227654321", 3),
    ],
)
def test_check_digit_of_known_codes(first_nine: str, expected: int) -> None:
    assert national_id_check_digit(first_nine) == expected


@pytest.mark.parametrize(
    ("first_nine", "expected"),
    [
        ("000000000", 0),  # sum 0, r 0 -> 0
        ("000000006", 1),  # 6*2 = 12, r 1 -> 1
        ("000000005", 1),  # 5*2 = 10, r 10 -> 11 - 10
        ("100000000", 1),  # 1*10 = 10, r 10 -> 1
        ("010000000", 2),  # 1*9 = 9, r 9 -> 2
        ("000000003", 5),  # 3*2 = 6, r 6 -> 5
        ("000000060", 4),  # 6*3 = 18, r 7 -> 4
        ("000000400", 6),  # 4*4 = 16, r 5 -> 6
        ("200000005", 3),  # 20 + 10 = 30, r 8 -> 3
        ("000000001", 9),  # 1*2 = 2, r 2 -> 9
    ],
)
def test_check_digit_rule(first_nine: str, expected: int) -> None:
    """Weights 10..2; check = r if r < 2 else 11 - r, including both r < 2 cases."""
    assert national_id_check_digit(first_nine) == expected


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("0499370899", True),
        ("0499370898", False),
        ("1111111111", False),
        ("499370899", False),  # national_id_valid takes the padded form only
        ("۰۴۹۹۳۷۰۸۹۹", False),  # and ASCII digits only
        ("049937089x", False),
    ],
)
def test_national_id_valid(code: str, valid: bool) -> None:
    assert national_id_valid(code) is valid

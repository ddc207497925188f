"""Table tests for flows.birth_date: Jalali birth dates as subscribers type them."""

from __future__ import annotations

import jdatetime
import pytest

from flows.birth_date import (
    EARLIEST_BIRTH_DATE,
    birth_date_problem,
    format_jalali,
    parse_birth_date,
)

# A fixed "today" late enough for every calendar case below (1408 is in the table).
LATE_TODAY = jdatetime.date(1410, 1, 1)
TODAY = jdatetime.date(1404, 6, 15)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1370/05/12", (1370, 5, 12)),
        ("1370/5/12", (1370, 5, 12)),
        ("1370-5-12", (1370, 5, 12)),
        ("1370-05-12", (1370, 5, 12)),
        ("1370.5.12", (1370, 5, 12)),
        ("۱۳۷۰/۵/۱۲", (1370, 5, 12)),  # Persian digits
        ("۱۳۷۰/۰۵/۱۲", (1370, 5, 12)),
        ("١٣٧٠/٥/١٢", (1370, 5, 12)),  # Arabic-Indic digits
        ("۱۳۷۰٫۵٫۱۲", (1370, 5, 12)),  # Persian keyboard's momayyez
        ("70/5/12", (1370, 5, 12)),  # two-digit year: 13xx
        ("70-05-12", (1370, 5, 12)),
        ("۷۰/۵/۱۲", (1370, 5, 12)),
        ("70.5.12", (1370, 5, 12)),
        ("05/1/1", (1305, 1, 1)),
        ("00/01/01", (1300, 1, 1)),
        ("1370 / 05 / 12", (1370, 5, 12)),  # spaces around separators
        ("1370 /5/ 12", (1370, 5, 12)),
        ("1370 - 5 - 12", (1370, 5, 12)),
        ("  ۱۳۷۰ / ۵ / ۱۲  ", (1370, 5, 12)),
        ("1370\t/\t5 /12", (1370, 5, 12)),
        ("1370/5-12", (1370, 5, 12)),  # mixed separators still unambiguous
        ("\u200f1370/05/12\u200e", (1370, 5, 12)),  # bidi marks
        ("1365/04/12", (1365, 4, 12)),
        ("1300/01/01", (1300, 1, 1)),
    ],
)
def test_parse_birth_date_forms(text: str, expected: tuple[int, int, int]) -> None:
    assert parse_birth_date(text, today=TODAY) == jdatetime.date(*expected)
    assert birth_date_problem(text, today=TODAY) is None


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("1399/12/30", True),  # 1399 leap: Esfand has 30 days
        ("1403/12/30", True),  # 1403 leap
        ("1408/12/30", True),  # 1408 leap
        ("1404/12/29", True),
        ("1404/12/30", False),  # 1404 not leap
        ("1400/12/30", False),
        ("1402/12/30", False),
        ("1399/12/31", False),  # Esfand never has 31
        ("1400/01/31", True),  # months 1-6 have 31 days
        ("1400/06/31", True),
        ("1400/06/32", False),
        ("1400/07/30", True),  # months 7-11 have 30
        ("1400/07/31", False),
        ("1400/11/30", True),
        ("1400/11/31", False),
        ("1400/13/01", False),
        ("1400/00/10", False),
        ("1400/05/00", False),
        ("99/12/30", True),  # 1399, two-digit year
        ("۱۴۰۴/۱۲/۳۰", False),
    ],
)
def test_calendar_validity(text: str, valid: bool) -> None:
    assert (parse_birth_date(text, today=LATE_TODAY) is not None) is valid
    assert birth_date_problem(text, today=LATE_TODAY) == (None if valid else "calendar")


@pytest.mark.parametrize(
    "text",
    [
        "1299/12/29",  # before 1300/01/01
        "1250/01/01",
        "0999/01/01",
    ],
)
def test_before_1300_rejected(text: str) -> None:
    assert parse_birth_date(text, today=TODAY) is None
    assert birth_date_problem(text, today=TODAY) == "calendar"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1404/06/15", None),  # today itself
        ("1404/06/14", None),
        ("1404/06/16", "future"),
        ("1404/07/01", "future"),
        ("1405/01/01", "future"),
        ("1990/05/12", "future"),  # a Gregorian year read as Jalali
        ("۱۴۰۴/۶/۱۶", "future"),
    ],
)
def test_future_rejected(text: str, problem: str | None) -> None:
    assert birth_date_problem(text, today=TODAY) == problem
    assert (parse_birth_date(text, today=TODAY) is None) is (problem is not None)


def test_default_today_is_the_current_jalali_date() -> None:
    # Two days ahead, so a midnight between the two today() calls cannot flip it.
    ahead = jdatetime.date.today() + jdatetime.timedelta(days=2)
    assert birth_date_problem(format_jalali(ahead)) == "future"
    assert parse_birth_date("1370/05/12") == jdatetime.date(1370, 5, 12)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "13700512",  # no separators
        "1370/05",
        "1370/05/12/01",
        "137/05/12",  # three-digit year
        "13700/05/12",
        "1370/005/12",
        "1370/05/123",
        "1370//05/12",
        "1370 05 12",  # spaces alone are not separators
        "12/05/1370",  # day first
        "1370/May/12",
        "1370/05/12a",
        "today",
        "۱۳۷۰/۵",
        "1370,05,12",
    ],
)
def test_malformed(text: str) -> None:
    assert parse_birth_date(text, today=TODAY) is None
    assert birth_date_problem(text, today=TODAY) == "format"


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        (jdatetime.date(1370, 5, 12), "1370/05/12"),
        (jdatetime.date(1365, 4, 12), "1365/04/12"),
        (jdatetime.date(1403, 12, 30), "1403/12/30"),
        (jdatetime.date(1300, 1, 1), "1300/01/01"),
    ],
)
def test_format_jalali(date: jdatetime.date, expected: str) -> None:
    assert format_jalali(date) == expected


@pytest.mark.parametrize("text", ["70/5/12", "۱۳۷۰/۵/۱۲", "1370 - 5 - 12", "1370.05.12"])
def test_format_round_trips_to_canonical(text: str) -> None:
    parsed = parse_birth_date(text, today=TODAY)
    assert parsed is not None
    assert format_jalali(parsed) == "1370/05/12"
    assert parse_birth_date(format_jalali(parsed), today=TODAY) == parsed


def test_earliest_birth_date() -> None:
    assert jdatetime.date(1300, 1, 1) == EARLIEST_BIRTH_DATE

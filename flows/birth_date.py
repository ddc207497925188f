"""Jalali (Solar Hijri) birth dates as subscribers type them (DESIGN.md §1 R5, §2).

Year first, then month and day, separated by ``/``, ``-`` or ``.`` (spaces around them
allowed), in ASCII, Persian or Arabic-Indic digits; a two-digit year means 13xx.
Calendar validity (month lengths, leap Esfand) is jdatetime's. A birth date is between
1300/01/01 and today.

    >>> format_jalali(parse_birth_date("۱۳۷۰/۵/۱۲"))
    '1370/05/12'
    >>> parse_birth_date("70-5-12")
    jdatetime.date(1370, 5, 12)
    >>> birth_date_problem("1404/12/30")
    'calendar'
"""

from __future__ import annotations

import re
from typing import Final, Literal

import jdatetime

from flows.normalize import normalize_text

BirthDateProblem = Literal["format", "calendar", "future"]

EARLIEST_BIRTH_DATE: Final = jdatetime.date(1300, 1, 1)
_CENTURY: Final = 1300
_SEPARATOR: Final = "[/\\-.\u066b\u066c\u2010-\u2015\u2212]"
_DATE: Final = re.compile(
    f"(?P<year>[0-9]{{4}}|[0-9]{{2}}) ?{_SEPARATOR} ?(?P<month>[0-9]{{1,2}})"
    f" ?{_SEPARATOR} ?(?P<day>[0-9]{{1,2}})",
    re.ASCII,
)


def _fields(text: str) -> tuple[int, int, int] | None:
    """Year (two-digit years as 13xx), month and day typed in ``text``, or None."""
    match = _DATE.fullmatch(normalize_text(text))
    if match is None:
        return None
    year = int(match["year"])
    if len(match["year"]) == 2:
        year += _CENTURY
    return year, int(match["month"]), int(match["day"])


def _calendar_date(year: int, month: int, day: int) -> jdatetime.date | None:
    """The Jalali date if it exists and is not before 1300/01/01, else None."""
    try:
        date = jdatetime.date(year, month, day)
    except ValueError:
        return None
    return date if date >= EARLIEST_BIRTH_DATE else None


def _read(
    text: str, today: jdatetime.date | None
) -> tuple[jdatetime.date | None, BirthDateProblem | None]:
    """The date in ``text`` and what is wrong with it; exactly one of the two is None."""
    fields = _fields(text)
    if fields is None:
        return None, "format"
    date = _calendar_date(*fields)
    if date is None:
        return None, "calendar"
    if date > (today if today is not None else jdatetime.date.today()):
        return None, "future"
    return date, None


def birth_date_problem(
    text: str, today: jdatetime.date | None = None
) -> BirthDateProblem | None:
    """What is wrong with ``text`` as a birth date: None when valid.

    ``"format"`` when it is not year/month/day, ``"calendar"`` when that day does not
    exist in the Jalali calendar or is before 1300/01/01, ``"future"`` when it is after
    ``today`` (the current Jalali date by default).
    """
    return _read(text, today)[1]


def parse_birth_date(text: str, today: jdatetime.date | None = None) -> jdatetime.date | None:
    """The Jalali birth date in ``text``, or None if malformed, nonexistent or in the future."""
    return _read(text, today)[0]


def format_jalali(date: jdatetime.date) -> str:
    """The canonical ``YYYY/MM/DD`` form the registry stores: ``1370/05/12``."""
    return f"{date.year:04d}/{date.month:02d}/{date.day:02d}"

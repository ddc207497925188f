"""Input normalisation and validation of what a subscriber types (DESIGN.md §2).

Pure functions, no I/O. Text is normalised first (Persian and Arabic-Indic digits to
ASCII, Arabic ي/ك to Persian ی/ک, separators dropped from numbers) and only then
validated, with ASCII-only patterns.

    >>> parse_imei("۳۵-۲۰۹۹۰۰-۱۷۶۱۴۸-۱/۰۱")
    '352099001761481'
    >>> parse_msisdn("+98 912 111 0001")
    '989121110001'
    >>> mask_msisdn("989121110001")
    '0912***0001'
"""

from __future__ import annotations

import re
from typing import Final, Literal

ImeiProblem = Literal["length", "checksum"]

IMEI_LENGTH: Final = 15
COUNTRY_CODE: Final = "98"

_PERSIAN_DIGITS: Final = "۰۱۲۳۴۵۶۷۸۹"
_ARABIC_INDIC_DIGITS: Final = "٠١٢٣٤٥٦٧٨٩"
_DIGITS: Final = str.maketrans(_PERSIAN_DIGITS + _ARABIC_INDIC_DIGITS, "0123456789" * 2)
_LETTERS: Final = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک"})
# Invisible marks phones and keyboards slip into text. The zero-width non-joiner
# (U+200C) is part of Persian spelling and is kept.
_INVISIBLE: Final = re.compile("[\u200b\u200d\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_SPACES: Final = re.compile(r"\s+")
# Separators people type inside numbers: spaces, dashes, slashes, dots, and the
# Arabic decimal/thousands separators.
# The zero-width non-joiner is kept in words but is noise inside a number.
_SEPARATORS: Final = re.compile("[\\s\\-\u2010-\u2015\u2212/.\u066b\u066c\u200c]+")
_ASCII_DIGITS: Final = re.compile(r"[0-9]+", re.ASCII)
_IMEI_LABEL: Final = re.compile(r"^imei\s*:?\s*", re.ASCII | re.IGNORECASE)
_IMEI_WITH_SV: Final = re.compile(r"^(?P<imei>.*[0-9])\s*/\s*(?P<sv>[0-9]{2})$", re.ASCII)
_MOBILE_NATIONAL: Final = re.compile(r"9[0-9]{9}", re.ASCII)
# Prefixes in front of the 10-digit national part, longest first. "980" and "00980"
# cover the common "+98 0912 …" habit.
_MSISDN_PREFIXES: Final = ("00980", "0098", "980", "98", "0", "")


def to_ascii_digits(text: str) -> str:
    """Persian (۰-۹) and Arabic-Indic (٠-٩) digits to ASCII 0-9; the rest unchanged."""
    return text.translate(_DIGITS)


def normalize_text(text: str) -> str:
    """ASCII digits, Persian ی/ک, invisible marks dropped, spaces collapsed and stripped."""
    if text.isascii():  # most input (digits, menu choices): nothing to translate or drop
        return _SPACES.sub(" ", text).strip()
    text = to_ascii_digits(text).translate(_LETTERS)
    text = _INVISIBLE.sub("", text)
    return _SPACES.sub(" ", text).strip()


def digits_only(text: str) -> str | None:
    """The digits of ``text`` once separators are dropped, or None if anything else is in it."""
    compact = _SEPARATORS.sub("", normalize_text(text))
    return compact if _ASCII_DIGITS.fullmatch(compact) else None


def luhn_valid(digits: str) -> bool:
    """True if an ASCII digit string passes the Luhn check (the IMEI check digit)."""
    if not _ASCII_DIGITS.fullmatch(digits):
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _imei_digits(text: str) -> str | None:
    """The digits typed as an IMEI: label and a trailing ``/SV`` dropped, or None."""
    text = _IMEI_LABEL.sub("", normalize_text(text))
    with_sv = _IMEI_WITH_SV.match(text)
    if with_sv:
        imei = digits_only(with_sv["imei"])
        if imei is not None and len(imei) == IMEI_LENGTH:
            return imei
    return digits_only(text)


def imei_problem(text: str) -> ImeiProblem | None:
    """What is wrong with ``text`` as an IMEI: None when valid.

    ``"length"`` when it is not 15 digits (letters included), ``"checksum"`` when it is
    15 digits with a wrong check digit.
    """
    digits = _imei_digits(text)
    if digits is None or len(digits) != IMEI_LENGTH:
        return "length"
    return None if luhn_valid(digits) else "checksum"


def parse_imei(text: str) -> str | None:
    """The 15-digit IMEI in ``text`` if it is Luhn-valid, else None.

    Accepts separators (``35-209900-176148-1``), Persian digits, an ``IMEI:`` label and
    a trailing two-digit software version (``352099001761481/01``).
    """
    digits = _imei_digits(text)
    if digits is None or len(digits) != IMEI_LENGTH or not luhn_valid(digits):
        return None
    return digits


def parse_msisdn(text: str) -> str | None:
    """An Iranian mobile number as ``98`` + 10 digits (national part starting with 9).

    Accepts 0912…, 912…, +98…, 0098…, 98… with spaces, dashes, dots and Persian digits.
    Landlines (021…) and wrong lengths give None.
    """
    if len(text) == 12 and text.startswith("989") and text.isascii() and text.isdigit():
        return text  # as every SMSC writes a sender, and as it is stored
    compact = normalize_text(text)
    if compact.startswith("+"):
        compact = "00" + compact[1:]
    digits = digits_only(compact)
    if digits is None:
        return None
    for prefix in _MSISDN_PREFIXES:
        national = digits[len(prefix) :]
        if digits.startswith(prefix) and _MOBILE_NATIONAL.fullmatch(national):
            return COUNTRY_CODE + national
    return None


def mask_digits(value: str) -> str:
    """Keep the first 2 and last 2 characters, mask the rest: ``35***81``.

    Values shorter than 8 characters (codes, short ids) are masked whole: ``***``.
    """
    value = to_ascii_digits(value)
    if len(value) < 8:
        return "***"
    return f"{value[:2]}***{value[-2:]}"


def mask_msisdn(msisdn: str) -> str:
    """A mobile number in its local form, middle masked: ``0912***0001``.

    Accepts any form :func:`parse_msisdn` accepts; anything else falls back to
    :func:`mask_digits`.
    """
    parsed = parse_msisdn(msisdn)
    if parsed is None:
        return mask_digits(msisdn)
    local = "0" + parsed[len(COUNTRY_CODE) :]
    return f"{local[:4]}***{local[-4:]}"

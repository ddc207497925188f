"""Iranian national ID (کد ملی) validation for the password flow (DESIGN.md §1, R5).

A national ID is 10 digits, the last a check digit over the first nine: weights 10..2,
``r = sum % 11``, check digit ``r`` if ``r < 2`` else ``11 - r``. Codes typed without
their leading zeros (8 or 9 digits) are padded back to 10. Codes of one repeated digit
(``0000000000``, ``1111111111`` …) pass the checksum but are never issued: rejected.

    >>> parse_national_id("۰۰۶-۱۲۳۴۵۶-۷")
    '0061234567'
    >>> parse_national_id("61234567")
    '0061234567'
    >>> national_id_problem("0061234568")
    'checksum'
"""

from __future__ import annotations

from typing import Final, Literal

from flows.normalize import digits_only

NationalIdProblem = Literal["length", "checksum"]

NATIONAL_ID_LENGTH: Final = 10
# Shortest form accepted before left-padding with zeros.
_MIN_TYPED_LENGTH: Final = 8


def national_id_check_digit(first_nine: str) -> int:
    """The check digit for the first nine ASCII digits of a national ID."""
    total = sum(int(char) * weight for char, weight in zip(first_nine, range(10, 1, -1), strict=True))
    remainder = total % 11
    return remainder if remainder < 2 else 11 - remainder


def national_id_valid(code: str) -> bool:
    """True for 10 ASCII digits, not all the same, with a correct check digit."""
    return (
        len(code) == NATIONAL_ID_LENGTH
        and code.isascii()
        and code.isdigit()
        and len(set(code)) > 1
        and int(code[-1]) == national_id_check_digit(code[:-1])
    )


def _padded_digits(text: str) -> str | None:
    """The typed digits padded to 10 with leading zeros, or None for a wrong length."""
    digits = digits_only(text)
    if digits is None or not _MIN_TYPED_LENGTH <= len(digits) <= NATIONAL_ID_LENGTH:
        return None
    return digits.zfill(NATIONAL_ID_LENGTH)


def national_id_problem(text: str) -> NationalIdProblem | None:
    """What is wrong with ``text`` as a national ID: None when valid.

    ``"length"`` when it is not 8 to 10 digits (letters included), ``"checksum"`` when
    the check digit is wrong or all ten digits are the same.
    """
    code = _padded_digits(text)
    if code is None:
        return "length"
    return None if national_id_valid(code) else "checksum"


def parse_national_id(text: str) -> str | None:
    """The 10-digit national ID in ``text`` if valid, else None.

    Accepts Persian and Arabic-Indic digits, spaces, dashes, dots and slashes, and 8- or
    9-digit forms missing their leading zeros.
    """
    code = _padded_digits(text)
    return code if code is not None and national_id_valid(code) else None

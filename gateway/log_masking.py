"""Personal data out of log text, by pattern and by context (DESIGN.md §5).

Code masks what it logs itself (``mask_msisdn``, ``mask_digits``); this is the defence in depth
behind that, applied to every rendered line (gateway/logging_setup.py). What it masks:

- mobile numbers in every accepted form (0912…, 912…, +98…, 98…, 0098…, with single spaces or
  dashes, in Persian or Arabic-Indic digits too): ``0912***4567``;
- any other run of 10 or more digits (IMEIs, national IDs, landlines): ``35***81``;
- Jalali dates (birth dates: 1370/05/12, 1370-5-12, 70/5/12, 13700512): ``****/**/**``;
- a 6-digit code after a word that names it (code, کد, otp, pin): ``***``;
- the value after password / رمز / secret / token when it is written as one (``password=…``,
  ``password: …``) or looks like one (letters and digits): ``***``.

What it leaves readable: IPv4 addresses and ports (``127.0.0.1:38909``), Redis stream ids
(``1764751534123-0``: a millisecond clock and a sequence), SMSC message ids after a word that
names them (``message_id 1234567890``, ``receipt …``), pids, partition numbers, counts, and
Gregorian dates (the log's own timestamps).
"""

from __future__ import annotations

import re
from typing import Final

from flows.normalize import mask_digits, mask_msisdn, to_ascii_digits

DATE_MASK: Final = "****/**/**"
SECRET_MASK: Final = "***"

# \d matches Persian and Arabic-Indic digits too. Alternatives are tried in this order at each
# position, so an address or a stream id is taken whole before its digits could be read as a run.
_TOKEN: Final = re.compile(
    r"(?P<ip>(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w.]))"
    r"|(?P<stream>(?<!\d)\d{13}-\d{1,6}(?!\d))"
    r"|(?P<date>(?<![\d/.\-])(?:\d{4}[/.\-]\d{1,2}[/.\-]\d{1,2}|\d{2}/\d{1,2}/\d{1,2})(?![\d/.\-]))"
    r"|(?P<run>\+?\d(?:[ \-\u200c]?\d)*)"
)
_SEPARATORS: Final = re.compile(r"[ \-\u200c+]")
_MOBILE: Final = re.compile(r"(?:0098|98|0)?9[0-9]{9}", re.ASCII)
_DATE_PARTS: Final = re.compile(r"[/.\-]")
# What may stand before a code: the word, then at most two more (کد تأیید همتا: 123456).
_CODE_CONTEXT: Final = re.compile(r"(?:code|کد|otp|pin)\W{0,3}(?:\w+\W{1,3}){0,2}$", re.IGNORECASE)
_ID_CONTEXT: Final = re.compile(
    r"(?:message[ _]?id|msg[ _]?id|smsc[ _]id|receipt(?:ed)?(?:[ _][a-z]+)?(?:[ _]id)?)\W{0,3}$",
    re.IGNORECASE)
# A value runs to a space or a comma; one already masked or a [placeholder] is left alone.
_VALUE: Final = r"(?!\*\*\*|\[)[^\s,;،؛]+"
_SECRET_WORD: Final = r"\b(?:password|passwd|pwd|secret\w*|token)\b"
# `word: value` or `word=value`; in Persian a few words may come between (رمز جدید کارتابل …: value)
# (possessive: a long word is never split and tried again piece by piece).
_SECRET_EXPLICIT: Final = re.compile(
    rf"(?P<word>{_SECRET_WORD}|رمز(?:[^:=\n\w]*+\w++){{0,5}}?)(?P<sep>\s*[:=]\s*)(?P<value>{_VALUE})",
    re.IGNORECASE)
# `word value` or `word is value`: masked when the value has letters and digits.
_SECRET_LOOSE: Final = re.compile(
    rf"(?P<word>{_SECRET_WORD}|رمز)(?P<sep>\s+(?:is\s+)?)(?P<value>{_VALUE})", re.IGNORECASE)
_LETTER_AND_DIGIT: Final = re.compile(r"(?=.*[^\W\d_])(?=.*\d)")
_LOOKBACK: Final = 32


def mask_text(text: str) -> str:
    """``text`` with the personal data in it masked (see the module docstring)."""
    text = _SECRET_LOOSE.sub(_mask_loose, _SECRET_EXPLICIT.sub(_mask_secret, text))
    return _TOKEN.sub(lambda m: _mask_token(m, text), text)


def _mask_secret(match: re.Match[str]) -> str:
    return f"{match['word']}{match['sep']}{SECRET_MASK}"


def _mask_loose(match: re.Match[str]) -> str:
    if match["value"] == SECRET_MASK or not _LETTER_AND_DIGIT.match(match["value"]):
        return match.group()
    return _mask_secret(match)


def _mask_token(match: re.Match[str], text: str) -> str:
    token = match.group()
    if match["ip"] or match["stream"]:
        return token
    if match["date"]:
        return DATE_MASK if _is_jalali(_DATE_PARTS.split(to_ascii_digits(token))) else token
    return _mask_run(token, text[max(match.start() - _LOOKBACK, 0) : match.start()])


def _mask_run(token: str, before: str) -> str:
    digits = _SEPARATORS.sub("", to_ascii_digits(token))
    if _MOBILE.fullmatch(digits):
        return mask_msisdn(digits)
    if len(digits) >= 10:
        return token if _ID_CONTEXT.search(before) else mask_digits(digits)
    if len(digits) == 8 and _is_jalali([digits[:4], digits[4:6], digits[6:]]):
        return DATE_MASK
    if len(digits) == 6 and digits[0] != "0" and _CODE_CONTEXT.search(before):
        return SECRET_MASK
    return token


def _is_jalali(parts: list[str]) -> bool:
    """year/month/day of a plausible Jalali birth date: 13xx or 14xx (or two digits)."""
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        return False
    year, month, day = parts
    plausible_year = len(year) == 2 or (len(year) == 4 and year[:2] in ("13", "14"))
    return plausible_year and 1 <= int(month) <= 12 and 1 <= int(day) <= 31

"""The message catalog over every text in both languages: the same keys and placeholders,
typography and wording (fa.yaml's header), and the segment and screen limits (DESIGN §2,
issue 13 point 4): ONE UCS-2 segment for every reply on the happy path of both procedures, two
for help and everything else, 160 bytes for every USSD screen after paging."""

from __future__ import annotations

import re

import pytest

from flows.catalog import LANGUAGES, Language, default_catalog
from flows.dialog_types import channel_words
from flows.session import Channel
from flows.ussd import SCREEN_BYTES, paginate

UCS2_ONE_SEGMENT = 70
UCS2_TWO_SEGMENTS = 134
CHANNELS: tuple[Channel, ...] = ("sms", "ussd")
# The longest realistic value of every placeholder, as the flows fill it:
LONGEST: dict[str, object] = {
    "hours": 24,  # service.lockout_seconds is a day: the wait is at most 24 hours
    "minutes": 60,  # a code valid an hour at most; code_limit_minutes only below an hour
    "left": 2,  # attempts left: max_mismatches_per_session (3) - 1
    "devices": 999,  # devices back in a cartable: far above any real cartable
    "code": "123456",  # always 6 digits
    "imei_tail": "3235",  # the last 4 digits of an IMEI
    "number": "0912***0001",  # flows.normalize.mask_msisdn: always 11 characters
    # flows.password._usable_numbers: at most two masked numbers, then an ellipsis
    "numbers": "\u200e0912***0001، \u200e0912***0002، …",
    "password": "AbCdEfGh23",  # flows.password.PASSWORD_LENGTH characters
}
# The replies a citizen gets when all goes well, from the menu choice to the end: each one SMS
# segment (the code's and the password's SMS included), so a restore costs at most 4 MT
# segments and a password recovery 5 (tests/unit/test_conversations.py counts them).
HAPPY = {
    "ask_imei", "ask_old_number", "code_restore", "restored_to_sim", "restored_to_national_id",
    "ask_national_id", "ask_birth_date", "code_password", "password_reset",
    "password_reset_sim_added", "password_sms", "code_sent",
    "menu",  # not counted in the 4 and 5, but everyone's first reply: one segment too
}
EXEMPT: set[str] = set()  # help fits two segments like the rest (DESIGN §2 allows more)
# Said while a step goes on waiting for input (beside every ask_ and help_ask_ text).
WAITING = [
    "menu", "resume", "code_sent", "imei_length", "imei_checksum", "number_invalid", "mismatch",
    "code_malformed", "code_wrong", "code_expired", "nothing_to_resend", "national_id_length",
    "national_id_checksum", "birth_date_format", "birth_date_calendar", "birth_date_future",
    "password_mismatch",
]
# Told at the head of the next reply, in the same SMS (flows.dialog_types.Turn.notice).
NOTICES = {"language_set", "session_expired", "ussd_dialogue_closed"}
CATALOG = default_catalog()
KEYS = sorted(CATALOG.keys("fa"))


def text(lang: Language, key: str, channel: Channel = "sms") -> str:
    """What the citizen reads: the `ussd_` variant on a screen, placeholders at their longest."""
    shown = f"ussd_{key}" if channel == "ussd" and CATALOG.has(lang, f"ussd_{key}") else key
    return CATALOG.render(lang, shown, **channel_words(CATALOG, lang, channel), **LONGEST)


def template(lang: Language, key: str) -> str:
    return CATALOG._texts[lang][key]  # the raw text, placeholders unfilled


def ucs2_units(value: str) -> int:
    return len(value.encode("utf-16-be")) // 2


def test_languages_have_the_same_keys_and_placeholders() -> None:
    fa, en = (CATALOG.keys(lang) for lang in LANGUAGES)
    assert fa == en
    for key in fa:
        # {send} and {Send} are the same word, capitalised where an English sentence starts
        places = [{p.lower() for p in CATALOG.placeholders(lang, key)} for lang in LANGUAGES]
        assert places[0] == places[1], key
        assert places[0] <= set(LONGEST) | {"send"}, key


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("channel", CHANNELS)
def test_happy_path_replies_fit_one_segment(lang: Language, channel: Channel) -> None:
    for key in HAPPY - ({"menu"} if channel == "ussd" else set()):  # a screen of options
        shown = text(lang, key, channel)
        assert ucs2_units(shown) <= UCS2_ONE_SEGMENT, f"{lang}/{channel}/{key}: {len(shown)}"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("key", sorted(CATALOG.keys("fa") - EXEMPT))
def test_every_reply_fits_two_segments(lang: Language, key: str) -> None:
    for channel in CHANNELS:
        shown = text(lang, key, channel)
        assert ucs2_units(shown) <= UCS2_TWO_SEGMENTS, f"{lang}/{key}: {len(shown)} characters"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_notice_and_the_reply_it_opens_fit_two_segments(lang: Language) -> None:
    """A notice opens the menu or a step's question (or the lockout) in the same SMS; before
    help, which takes two segments itself, it goes on its own."""
    followers = {"menu", "locked"} | {k for k in KEYS if k.startswith("ask_")}
    for notice in NOTICES:
        for follower in followers:
            shown = text(lang, notice) + "\n" + text(lang, follower)
            assert ucs2_units(shown) <= UCS2_TWO_SEGMENTS, (lang, notice, follower, len(shown))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_text_fits_ussd_screens_once_paged(lang: Language) -> None:
    more = CATALOG.render(lang, "ussd_more")
    for key in KEYS:
        for page in paginate(text(lang, key, "ussd"), more):
            assert len(page.encode("utf-16-be")) <= SCREEN_BYTES, (lang, key, page)


# --- Persian typography and wording -------------------------------------------------------

PERSIAN_RULES = [
    (re.compile(r"(?<!\w)مثلا(?!ً)"), "«مثلاً» with tanvin"),
    (re.compile(r"(?<!\w)بعدا(?!ً)"), "«بعداً» with tanvin"),
    (re.compile(r"(?<!\w)لطفا(?!ً)"), "«لطفاً» with tanvin"),
    (re.compile(r"(?<!\w)(فعلا|قبلا|اصلا|حتما|احتمالا|موقتا)(?!ً)"), "tanvin on the adverb"),
    (re.compile(r"تایید|تائید"), "«تأیید» with hamza"),
    (re.compile(r"\s[.،؛؟:!]"), "no space before punctuation"),
    (re.compile(r"[,;?]"), "Persian comma, semicolon and question mark (، ؛ ؟)"),
    (re.compile(r"سیمکارت|سیم کارت"), "«سیم‌کارت» with ZWNJ"),
    (re.compile(r"(^|\s)ن?می\s"), "«می‌» joined with ZWNJ"),
    (re.compile(r"\s(ها|های|هایی|تر|ترین)(\s|[.،؛]|$)"), "plural and comparative suffixes with ZWNJ"),
    (re.compile(r"رمز عبور|گذرواژه"), "«رمز», the one word for the password"),
    (re.compile(r"نشست"), "«درخواست», not «نشست», for one conversation"),
    (re.compile(r"  "), "single spaces"),
    (re.compile(r"\s$|^\s", re.M), "no leading or trailing space"),
]
# The IMEI is «شناسه IMEI» everywhere, except in the code's SMS, which has no room for it and
# names the device by the end of its IMEI.
BARE_IMEI_ALLOWED = {"code_restore"}


@pytest.mark.parametrize("key", KEYS)
def test_persian_typography(key: str) -> None:
    raw = template("fa", key)
    for pattern, rule in PERSIAN_RULES:
        assert not pattern.search(raw), f"fa/{key}: {rule}: {raw!r}"


@pytest.mark.parametrize("key", KEYS)
def test_persian_digits_where_the_user_reads_a_number(key: str) -> None:
    """fa.yaml's header: ASCII digits only in *#06# and in placeholders (codes, IMEI tails,
    masked numbers, passwords), never in the text itself."""
    raw = template("fa", key).replace("*#06#", "")
    assert not re.search(r"[0-9]", raw), f"fa/{key} writes ASCII digits: {raw!r}"
    assert not re.search(r"[۰-۹]", template("en", key)), f"en/{key} writes Persian digits"


def test_counts_in_persian_digits_copied_values_in_ascii() -> None:
    assert "۲۴" in CATALOG.render("fa", "locked", hours=24)
    assert "24" in CATALOG.render("en", "locked", hours=24)
    code = text("fa", "code_restore")
    assert "123456" in code and "3235" in code and "۶۰" in code


@pytest.mark.parametrize("key", KEYS)
def test_the_same_words_for_the_same_things(key: str) -> None:
    raw = template("fa", key)
    if key not in BARE_IMEI_ALLOWED:
        assert raw.count("IMEI") == raw.count("شناسه IMEI"), f"fa/{key}: «شناسه IMEI»"
    assert "کارتابل" in raw or "کارتبل" not in raw
    assert "*#06#" not in raw or "\u200e*#06#\u200e" in raw, f"fa/{key}: LRM around *#06#"
    assert "{number}" not in raw or "\u200e{number}" in raw, f"fa/{key}: LRM before a number"


@pytest.mark.parametrize("key", KEYS)
def test_english_typography(key: str) -> None:
    raw = template("en", key)
    assert not re.search(r"\s[.,;:!?]", raw), f"en/{key}: space before punctuation"
    assert not re.search(r"  |\s$", raw), f"en/{key}: spacing"
    assert not re.search(r"[،؛؟]", raw), f"en/{key}: Persian punctuation in English"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_ussd_question_says_enter(lang: Language) -> None:
    """A screen waits for typing: its question says «وارد کنید» / "enter", never "send"."""
    enter = CATALOG.render(lang, "ussd_word_send")
    for key in [k for k in KEYS if k.startswith(("ask_", "help_ask_"))] + WAITING:
        shown = text(lang, key, "ussd").lower()
        assert enter in shown, f"{lang}/{key} on a screen: {shown!r}"
        send = CATALOG.render(lang, "word_send")
        assert not re.search(rf"(?<!\w){send}(?!\w)", shown), f"{lang}/{key} on a screen: {shown!r}"


@pytest.mark.parametrize("bad", [
    "مثلا ۰۹۱۲", "بعدا امتحان کنید", "کد تایید", "لطفا بفرستید", "بفرستید .", "کد ملی ، تاریخ",
    "درست است?", "سیمکارت", "سیم کارت", "می شود", "پیام ها", "رمز عبور",
])
def test_the_typography_rules_catch_what_they_name(bad: str) -> None:
    assert any(pattern.search(bad) for pattern, _ in PERSIAN_RULES), bad

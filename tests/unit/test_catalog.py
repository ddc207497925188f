"""The message catalog: both languages complete, every SMS reply within 2 UCS-2 segments."""

from __future__ import annotations

import pytest

from flows.catalog import LANGUAGES, default_catalog

UCS2_TWO_SEGMENTS = 134
LONGEST = {  # the longest value each placeholder can take
    "hours": 24, "left": 2, "number": "0912***0001", "numbers": "0912***0001، 0912***0002، …",
    "code": "123456", "imei_tail": "3235", "minutes": 60, "devices": 999, "password": "AbCdEfGh23",
}
CATALOG = default_catalog()
EXEMPT = {"help"}  # DESIGN §2: help may be longer


def test_languages_have_the_same_keys_and_placeholders() -> None:
    fa, en = (CATALOG.keys(lang) for lang in LANGUAGES)
    assert fa == en
    for key in fa:
        assert CATALOG.placeholders("fa", key) == CATALOG.placeholders("en", key), key
        assert CATALOG.placeholders("fa", key) <= set(LONGEST), key


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("key", sorted(CATALOG.keys("fa") - EXEMPT))
def test_every_reply_fits_two_segments(lang: str, key: str) -> None:
    text = CATALOG.render(lang, key, **LONGEST)  # type: ignore[arg-type]
    assert len(text) <= UCS2_TWO_SEGMENTS, f"{lang}/{key}: {len(text)} characters"


def test_persian_numbers_are_written_in_persian_digits() -> None:
    assert "۲۴" in CATALOG.render("fa", "locked", hours=24)
    assert "24" in CATALOG.render("en", "locked", hours=24)

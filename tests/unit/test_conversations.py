"""docs/conversations.md is what the dialog says today, and what the dialogs cost: MT segments
per completed procedure (issue 13 point 4), screens within 160 bytes that say "Enter"."""

from __future__ import annotations

import pytest

from devtools import conversations
from devtools.conversations import DOC, SCENARIOS, Event, Scenario, document, render, run
from flows.catalog import LANGUAGES, Language, default_catalog
from smpp.segmentation import segment_count

CATALOG = default_catalog()


def scenario(title_start: str) -> Scenario:
    return next(s for s in SCENARIOS if s.title.startswith(title_start))


def mt_segments(events: list[Event]) -> list[int]:
    """Segments of each text message the handset received, from the menu choice on."""
    received = [e for e in events if e.kind == "sms"]
    return [segment_count(e.text) for e in received]


async def test_the_committed_document_is_what_the_dialog_says() -> None:
    current = DOC.read_text(encoding="utf-8")
    assert conversations.MARKER in current
    assert current == document(current, await render()), (
        "docs/conversations.md is stale: run python -m devtools.conversations")


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("title", "budget"), [
    ("Restore a device into this SIM's cartable", 4),
    ("Restore into the national-ID cartable", 4),
    ("USSD: restore, the code comes by SMS", 4),
    ("Recover the cartable password, this number is added", 5),
    ("Recover the cartable password from a number already", 5),
    ("USSD: password recovery", 5),
])
async def test_a_happy_path_costs_one_segment_a_reply_within_its_budget(
    lang: Language, title: str, budget: int
) -> None:
    """A restore from the menu costs at most 4 MT segments, a password recovery at most 5."""
    segments = mt_segments(await run(scenario(title), lang))
    assert all(n == 1 for n in segments), segments
    assert sum(segments) <= budget, segments


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_help_costs_at_most_2_segments(lang: Language) -> None:
    events = await run(scenario("First message, menu and help"), lang)
    menu, help_text = [e for e in events if e.kind == "sms"]
    assert segment_count(help_text.text) <= 2 and segment_count(menu.text) <= 2


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("case", [s for s in SCENARIOS if s.ussd], ids=lambda s: s.title)
async def test_every_screen_fits_and_every_waiting_screen_says_enter(lang: Language, case: Scenario) -> None:
    if lang not in case.languages:
        pytest.skip("a one-language scenario")
    enter = {CATALOG.render(lng, "ussd_word_send") for lng in LANGUAGES}
    more = {CATALOG.render(lng, "ussd_more") for lng in LANGUAGES}
    for event in await run(case, lang):
        if event.kind != "screen":
            continue
        assert len(event.text.encode("utf-16-be")) <= 160, event.text
        paged = any(event.text.endswith("\n" + marker) for marker in more)
        if not event.end and not paged:
            assert any(word in event.text.lower() for word in enter), event.text


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_every_sms_reply_fits_two_segments(lang: Language) -> None:
    for case in SCENARIOS:
        if lang in case.languages:
            for event in await run(case, lang):
                if event.kind == "sms":
                    assert segment_count(event.text) <= 2, (case.title, event.text)

"""The demo's first screen promises only what the demo registry holds: each example, typed as
shown, ends as it says (a restore, a new password, the R6 refusal)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from devtools.conversations import Scenario, run
from devtools.demo_guide import EXAMPLES, SCRIPT, USSD_SCRIPT, guide
from devtools.phone import Phone, UssdPhone

ROOT = Path(__file__).resolve().parents[2]
ENDS = {  # the last reply's catalog text each example must reach, by its start in English
    "09361110003": "The device with IMEI …7518 was moved to this SIM's cartable.",
    "09121110010": "New Hamta password:",
    "09191110015": "Still active in your cartable:",
}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.does)
async def test_each_example_does_what_the_screen_says(example: object) -> None:
    case = Scenario("", example.number, example.inputs)  # type: ignore[attr-defined]
    events = await run(case, "en")
    assert events[-1].kind == "sms" and events[-1].text.startswith(ENDS[case.number])


def test_the_screen_lists_three_numbers_and_points_to_the_scripts() -> None:
    for ussd, script in ((False, SCRIPT), (True, USSD_SCRIPT)):
        text = guide(ussd)
        assert all(example.number in text for example in EXAMPLES)
        assert f"--script {script}" in text and (ROOT / script).is_file()
    assert "/dial" in guide(True) and "/dial" not in guide(False)


def test_the_greeting_and_help_show_the_guide() -> None:
    out = io.StringIO()
    phone = Phone(None, "7777", "09361110003", out, guide=guide())  # type: ignore[arg-type]
    assert guide() in phone.greeting()
    phone._command("/help")  # what typing /help shows
    assert guide() in out.getvalue()
    ussd = UssdPhone(None, "*7777#", "09361110003", out, guide=guide(True))  # type: ignore[arg-type]
    assert guide(True) in ussd.greeting()

"""`UssdPhone` driven by scripted lines against the simulator, a tiny USSD application answering."""

from __future__ import annotations

import asyncio
import io

from devtools.phone import UssdPhone, run_script
from smpp.sim import SmscSimulator
from smpp.ussd import EXAMPLE_VENDOR_RELEASE, SMPP34, UssdDialect
from tests.ussd_esme import Answer, Inbound, UssdEsme, run_responder

NUMBER = "09361110003"


ANSWERS = {
    "*7777#": Answer("1. Restore device\n2. Help", end=False),
    "1": Answer("Type the code we texted you:", end=False, sms="Hamta code: 482913"),
    "3": Answer("Type the code we texted you:", end=False, sms="Hamta code: 715204", sms_after=True),
    "482913": Answer("Device restored.", end=True),
    "715204": Answer("Password sent by SMS.", end=True),
    "2": Answer("Help: dial *7777#, choose 1.", end=True),
}


def menu(inbound: Inbound) -> Answer | None:
    """Restore with a code texted before (option 1) or after the screen (3); help (2).
    No screen for an abort or timeout notice (no text), nor for "silence"."""
    if inbound.text in ("", "silence"):
        return None
    return ANSWERS.get(inbound.text, Answer("Wrong code.", end=True))


async def play(
    dialect: UssdDialect, lines: list[str], screen_timeout: float = 5.0
) -> tuple[str, SmscSimulator, UssdEsme]:
    out = io.StringIO()
    async with SmscSimulator(ussd_dialect=dialect) as sim:
        esme = await UssdEsme.bound(sim.port)
        await sim.wait_bound()
        responder = run_responder(esme, dialect, menu)
        try:
            await run_script(UssdPhone(sim, "*7777#", NUMBER, out, screen_timeout), lines)
        finally:
            responder.cancel()
            await asyncio.gather(responder, return_exceptions=True)
            await esme.close()
    return out.getvalue(), sim, esme


async def test_dial_navigate_and_type_the_texted_code() -> None:
    transcript, _sim, _esme = await play(SMPP34, ["# restore a device", "/dial", "1", "{code}"])
    assert transcript.splitlines() == [
        "[09361110003] dial *7777#",
        "   | 1. Restore device",
        "   | 2. Help",
        "   [reply, or /abort]",
        "[09361110003] > 1",
        "[09361110003] SMS < Hamta code: 482913",
        "   | Type the code we texted you:",
        "   [reply, or /abort]",
        "[09361110003] > 482913",
        "   | Device restored.",
        "   [end]",
    ]


async def test_the_code_may_come_after_the_screen() -> None:
    transcript, _sim, _esme = await play(SMPP34, ["*7777#", "3", "{code}"])
    assert "[09361110003] SMS < Hamta code: 715204" in transcript
    assert transcript.rstrip().endswith("   | Password sent by SMS.\n   [end]")


async def test_after_the_end_only_a_dial_opens_a_dialogue() -> None:
    transcript, _sim, _esme = await play(SMPP34, ["2", "*7777#", "2", "1", "/abort"])
    lines = transcript.splitlines()
    assert lines[0] == "   (no USSD dialogue: dial *7777# or /dial first)"
    assert "   | Help: dial *7777#, choose 1." in lines
    assert lines[-2:] == ["   (no USSD dialogue: dial *7777# or /dial first)"] * 2


async def test_abort_hangs_up_and_the_smsc_says_so() -> None:
    transcript, _sim, esme = await play(EXAMPLE_VENDOR_RELEASE, ["/dial", "/abort", "1"])
    assert "[09361110003] (hung up)" in transcript
    assert [inbound.params.op for inbound in esme.seen if inbound.params] == [1, 32]
    assert transcript.splitlines()[-1] == "   (no USSD dialogue: dial *7777# or /dial first)"


async def test_no_screen_in_time_is_a_network_timeout() -> None:
    transcript, _sim, esme = await play(EXAMPLE_VENDOR_RELEASE, ["/dial", "silence"], screen_timeout=0.3)
    # the menu shows; "silence" gets no screen, so the network ends the dialogue (op 33)
    assert transcript.splitlines()[-1] == "   (no answer: the network ended the dialogue)"
    assert [inbound.params.op for inbound in esme.seen if inbound.params] == [1, 18, 33]

"""USSD dialogues in the SMSC simulator, over real TCP, seen from a bare ESME (tests/ussd_esme.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiosmpplib import SmppCommandStatus

from smpp import wire
from smpp.client import Accepted, ClientConfig, SmppClient, SmscEvent
from smpp.sim import SmscSimulator, UssdDialogue, UssdScreen, UssdStateError
from smpp.submit import Addressing
from smpp.ussd import (
    EXAMPLE_USSN_CONFIRM,
    EXAMPLE_VENDOR_RELEASE,
    SMPP34,
    UssdDialect,
    UssdParams,
    build_screen,
    ussd_tlvs,
)  # fmt: skip
from tests.ussd_esme import Inbound, UssdEsme

Status = SmppCommandStatus
PHONE = "989121110001"
OTHER = "989351110002"
MENU = "۱. بازیابی دستگاه\n۲. بازیابی رمز\n۳. راهنما"


@pytest.fixture(params=[SMPP34], ids=lambda d: d.name)
def dialect(request: pytest.FixtureRequest) -> UssdDialect:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
async def sim(dialect: UssdDialect) -> AsyncIterator[SmscSimulator]:
    async with SmscSimulator(ussd_dialect=dialect) as simulator:
        yield simulator


@pytest.fixture
async def esme(sim: SmscSimulator) -> AsyncIterator[UssdEsme]:
    client = await UssdEsme.bound(sim.port)
    await sim.wait_bound()
    yield client
    await client.close()


async def dial(sim: SmscSimulator, esme: UssdEsme, msisdn: str = PHONE) -> tuple[UssdDialogue, Inbound]:
    dialogue = await sim.ussd_start(msisdn, "*7777#")
    return dialogue, await esme.next_inbound()


# -- a whole dialogue --------------------------------------------------------------------------


async def test_dial_sends_a_begin_with_a_fresh_two_octet_session(sim: SmscSimulator, esme: UssdEsme) -> None:
    dialogue, begin = await dial(sim, esme)
    assert begin.params == UssdParams(1, dialogue.session_info)
    assert len(dialogue.session_info) == 2 and dialogue.session_info[0] >= 0x80
    assert (begin.msisdn, begin.deliver.destination.number, begin.text) == (PHONE, "*7777#", "*7777#")
    assert begin.deliver.service_type == "USSD"
    assert dialogue.status is Status.ESME_ROK and dialogue.state == "network"


async def test_screens_replies_and_the_end(sim: SmscSimulator, esme: UssdEsme) -> None:
    dialogue, begin = await dial(sim, esme)
    assert await esme.screen(SMPP34, begin, MENU, end=False) is Status.ESME_ROK
    assert await dialogue.screen() == UssdScreen(MENU, ends=False)
    assert dialogue.state == "user"

    assert await dialogue.reply("۱") is Status.ESME_ROK
    answer = await esme.next_inbound()
    assert answer.params == UssdParams(18, dialogue.session_info)
    assert (answer.msisdn, answer.text) == (PHONE, "۱")

    assert await esme.screen(SMPP34, answer, "Done.", end=True) is Status.ESME_ROK
    assert await dialogue.screen() == UssdScreen("Done.", ends=True)
    assert (dialogue.state, dialogue.ended_by) == ("ended", "gateway")
    assert [s.ends for s in dialogue.shown] == [False, True]
    with pytest.raises(UssdStateError):
        await dialogue.reply("2")
    assert sim.mt_log == []  # screens are not MTs


async def test_sms_during_a_dialogue_is_an_ordinary_mt(sim: SmscSimulator, esme: UssdEsme) -> None:
    dialogue, begin = await dial(sim, esme)
    assert await esme.sms(PHONE, "Your code: 482913") is Status.ESME_ROK
    await esme.screen(SMPP34, begin, "Type the code we texted you:", end=False)
    assert (await sim.await_mt(PHONE)).text == "Your code: 482913"
    assert (await dialogue.screen()).text == "Type the code we texted you:"


async def test_dialogues_are_kept_apart(sim: SmscSimulator, esme: UssdEsme) -> None:
    first, first_begin = await dial(sim, esme, PHONE)
    second, second_begin = await dial(sim, esme, OTHER)
    assert first.session_info != second.session_info
    await esme.screen(SMPP34, second_begin, "to the second", end=True)
    await esme.screen(SMPP34, first_begin, "to the first", end=False)
    assert (await first.screen()).text == "to the first"
    assert (await second.screen()).text == "to the second"


# -- what the simulator refuses ----------------------------------------------------------------


async def test_a_reply_before_any_screen_is_out_of_turn(sim: SmscSimulator, esme: UssdEsme) -> None:
    dialogue, _begin = await dial(sim, esme)
    with pytest.raises(UssdStateError, match="no screen waits"):
        await dialogue.reply("1")


async def test_screens_for_no_waiting_dialogue_are_refused(sim: SmscSimulator, esme: UssdEsme) -> None:
    dialogue, begin = await dial(sim, esme)
    wrong_session = Inbound(begin.frame, begin.deliver, UssdParams(1, b"\x00\x01"))
    assert await esme.screen(SMPP34, wrong_session, "x", end=False) is Status.ESME_RSUBMITFAIL
    wrong_number = build_screen("x", OTHER, Addressing("7777"), SMPP34, end=False,
                                session_info=dialogue.session_info)
    assert (await esme.request(wrong_number.pdu())).status is Status.ESME_RSUBMITFAIL
    assert await esme.screen(SMPP34, begin, "first", end=False) is Status.ESME_ROK
    assert await esme.screen(SMPP34, begin, "second, unasked", end=False) is Status.ESME_RSUBMITFAIL
    assert sim.ussd.refused == 3
    assert [s.text for s in dialogue.shown] == ["first"]


async def test_a_screen_op_code_the_dialect_does_not_know(sim: SmscSimulator, esme: UssdEsme) -> None:
    _dialogue, begin = await dial(sim, esme)
    screen = build_screen("x", PHONE, Addressing("7777"), SMPP34, end=True, session_info=b"")
    screen.ussd_tlvs = ussd_tlvs(0x55, begin.params.session_info)  # type: ignore[union-attr]
    assert (await esme.request(screen.pdu())).status is Status.ESME_RINVOPTPARAMVAL


async def test_a_screen_longer_than_160_octets_is_refused(sim: SmscSimulator, esme: UssdEsme) -> None:
    dialogue, begin = await dial(sim, esme)
    screen = build_screen("ب", PHONE, Addressing("7777"), SMPP34, end=False,
                          session_info=dialogue.session_info)
    screen.set_encoded_message("ب".encode("utf-16-be") * 81)
    assert (await esme.request(screen.pdu())).status is Status.ESME_RINVMSGLEN
    assert await esme.screen(SMPP34, begin, "ب" * 80, end=False) is Status.ESME_ROK


async def test_an_esme_refusing_the_dial_ends_the_dialogue(sim: SmscSimulator, esme: UssdEsme) -> None:
    esme.deliver_status = Status.ESME_RX_T_APPN
    dialogue, _begin = await dial(sim, esme)
    assert dialogue.status is Status.ESME_RX_T_APPN
    assert (dialogue.state, dialogue.ended_by) == ("ended", "refused")


# -- abort and network timeout, per dialect ----------------------------------------------------


async def test_smpp34_tells_the_esme_nothing_of_an_abort(sim: SmscSimulator, esme: UssdEsme) -> None:
    dialogue, begin = await dial(sim, esme)
    assert await dialogue.abort() is None
    assert (dialogue.state, dialogue.ended_by) == ("ended", "user")
    assert esme.inbound.empty()
    assert await esme.screen(SMPP34, begin, "too late", end=False) is Status.ESME_RSUBMITFAIL
    with pytest.raises(UssdStateError, match="ended"):
        await dialogue.abort()


@pytest.mark.parametrize("dialect", [EXAMPLE_VENDOR_RELEASE], ids=lambda d: d.name)
async def test_vendor_dialect_signals_abort_and_timeout(
    sim: SmscSimulator, esme: UssdEsme, dialect: UssdDialect
) -> None:
    aborted, _ = await dial(sim, esme)
    assert await aborted.abort() is Status.ESME_ROK
    abort = await esme.next_inbound()
    assert (abort.params, abort.text) == (UssdParams(32, aborted.session_info), "")

    timed_out, begin = await dial(sim, esme, OTHER)
    assert await sim.ussd_network_timeout(timed_out) is Status.ESME_ROK
    timeout = await esme.next_inbound()
    assert timeout.params == UssdParams(33, timed_out.session_info)
    assert timed_out.ended_by == "network"
    assert await esme.screen(dialect, begin, "too late", end=True) is Status.ESME_RSUBMITFAIL


@pytest.mark.parametrize("dialect", [EXAMPLE_USSN_CONFIRM], ids=lambda d: d.name)
async def test_ussn_dialect_continues_with_3_and_answers_with_19(
    sim: SmscSimulator, esme: UssdEsme, dialect: UssdDialect
) -> None:
    dialogue, begin = await dial(sim, esme)
    assert await esme.screen(dialect, begin, "Menu", end=False) is Status.ESME_ROK
    assert await dialogue.screen() == UssdScreen("Menu", ends=False)
    await dialogue.reply("2")
    assert (await esme.next_inbound()).params == UssdParams(19, dialogue.session_info)
    # the SMPP 3.4 continue op means nothing to this SMSC
    assert await esme.screen(SMPP34, begin, "Menu", end=False) is Status.ESME_RINVOPTPARAMVAL


# -- the gateway's own ESME --------------------------------------------------------------------


async def test_the_smpp_client_carries_ussd_both_ways(sim: SmscSimulator) -> None:
    """Its reader survives an its_session_info aiosmpplib cannot read; its screens go out raw."""
    delivered: asyncio.Queue[SmscEvent] = asyncio.Queue()

    async def on_events(events: list[SmscEvent], _origin: str) -> list[Status]:
        for event in events:
            if not isinstance(event, Accepted):
                delivered.put_nowait(event.deliver)
        return [Status.ESME_ROK] * len(events)

    client = SmppClient(ClientConfig("127.0.0.1", sim.port, "hamta", "secret"), on_events)
    runner = asyncio.create_task(client.run())
    try:
        await asyncio.wait_for(client.wait_bound(), 5)
        dialogue = await sim.ussd_start(PHONE, "*7777#")
        begin = await asyncio.wait_for(delivered.get(), 5)
        assert (begin.source.number, begin.short_message) == (PHONE, "*7777#")
        screen = build_screen(MENU, PHONE, Addressing("7777"), SMPP34, end=False,
                              session_info=dialogue.session_info)
        response = await client.submit(screen)
        assert response.command_status is Status.ESME_ROK
        assert await dialogue.screen() == UssdScreen(MENU, ends=False)
    finally:
        await client.stop()
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


def test_wire_reads_the_destination_of_a_screen() -> None:
    screen = build_screen("x", PHONE, Addressing("7777"), SMPP34, end=True, session_info=b"\x80\x01")
    assert wire.destination_address(screen.pdu()) == PHONE
    assert wire.source_address(screen.pdu()) == "7777"

"""Interop: the real gateway against an SMSC whose every PDU is smpp34's (tests/peers/smpp34_smsc.py).

smpp34 is an SMPP 3.4 engine written in Rust by others: its server frames, decodes and encodes
binds, enquire_link, submit_sm(_resp), deliver_sm(_resp) and unbind; no byte of this SMSC goes
through aiosmpplib or `smpp.wire`. The dialogs are the Persian restore, over SMS and over USSD;
receipts come in the shapes real SMSCs send; some submit_sm are throttled.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from flows.catalog import default_catalog
from gateway.app import Gateway
from tests.harness import ALI, SARA_DEVICE, SARA_NEW, SARA_OLD, demo_registry, gateway_settings
from tests.peers.smpp34_smsc import Mt, Smpp34Smsc, smpp34

SHORTCODE = "7777"
USSD_CODE = "*7777#"
FA = default_catalog()
CODE = re.compile(r"\b[1-9][0-9]{5}\b")
PSSR_INDICATION, USSR_REQUEST, PSSR_RESPONSE, USSR_CONFIRM = 1, 2, 17, 18
DELIVERED = 2  # message_state


def fa(key: str, **params: object) -> str:
    return FA.render("fa", key, **params)


def screen_text(key: str, **params: object) -> str:
    shown = f"ussd_{key}" if f"ussd_{key}" in FA.keys("fa") else key
    return fa(shown, **params)


@contextlib.asynccontextmanager
async def gateway_on_smpp34(redis_url: str) -> AsyncIterator[tuple[Gateway, Smpp34Smsc]]:
    async with Smpp34Smsc() as smsc:
        gateway = Gateway(gateway_settings(redis_url, smsc.port))
        await demo_registry(gateway.redis)
        await gateway.start()
        try:
            await smsc.wait_bound()
            yield gateway, smsc
        finally:
            await gateway.stop()


class Subscriber:
    """A phone texting the shortcode through the smpp34 SMSC."""

    def __init__(self, smsc: Smpp34Smsc, msisdn: str) -> None:
        self.smsc, self.msisdn, self.code = smsc, msisdn, ""

    async def text(self, body: str) -> Mt:
        statuses = await self.smsc.send_mo(self.msisdn, SHORTCODE, body.replace("{code}", self.code))
        assert set(statuses) == {smpp34.ESME_ROK}
        return await self.reply()

    async def reply(self) -> Mt:
        mt = await self.smsc.await_mt(self.msisdn)
        assert (mt.source, mt.data_coding) == (SHORTCODE, 8)
        assert all(part.registered_delivery & 1 for part in mt.parts)
        if found := CODE.search(mt.text):
            self.code = found.group()
        return mt


@pytest.fixture
async def on_smpp34(redis_url: str) -> AsyncIterator[tuple[Gateway, Smpp34Smsc]]:
    async with gateway_on_smpp34(redis_url) as pair:
        yield pair


async def test_persian_restore_over_sms(on_smpp34: tuple[Gateway, Smpp34Smsc]) -> None:
    gateway, smsc = on_smpp34
    sara = Subscriber(smsc, SARA_NEW)
    assert (await sara.text("سلام")).text == fa("menu")
    help_text = await sara.text("؟")  # help takes two parts (every happy-path reply one)
    assert help_text.text == fa("help") and len(help_text.parts) == 2  # concatenated UCS-2
    assert all(part.esm_class & 0x40 for part in help_text.parts)
    assert (await sara.text("۱")).text == fa("ask_imei")
    assert (await sara.text("۴۹۰۱۵۴۲۰۳۲۳۷۵۱۸")).text == fa("ask_old_number")
    assert (await sara.text("۰۹۳۵۱۱۱۰۰۰۲")).text.startswith("کد تأیید همتا")
    assert (await gateway.registry.device(SARA_DEVICE)).sim == SARA_OLD
    assert (await sara.text("{code}")).text == fa("restored_to_sim", imei_tail="7518")
    device = await gateway.registry.device(SARA_DEVICE)
    assert (device.sim, device.registered_owner) == (SARA_NEW, "1583250689")


async def test_concatenated_persian_mo_is_one_message(on_smpp34: tuple[Gateway, Smpp34Smsc]) -> None:
    _gateway, smsc = on_smpp34
    sara = Subscriber(smsc, SARA_NEW)
    long_text = "سلام، سیم‌کارت قبلی‌ام منقضی شده و می‌خواهم گوشی‌ام را بازیابی کنم. " * 3
    assert (await sara.text(long_text)).text == fa("menu")
    assert (await sara.text("1")).text == fa("ask_imei")  # one menu only: the parts were one MO


async def test_persian_restore_over_ussd(on_smpp34: tuple[Gateway, Smpp34Smsc]) -> None:
    gateway, smsc = on_smpp34
    session = b"\x81\x07"

    async def turn(text: str, op: int = USSR_CONFIRM) -> str:
        assert await smsc.send_ussd(SARA_NEW, USSD_CODE, text, op, session) == smpp34.ESME_ROK
        screen = await smsc.await_screen(SARA_NEW)
        assert screen.session_info == session  # echoed octet for octet
        return f"{screen.op}:{screen.text}"

    assert await turn(USSD_CODE, PSSR_INDICATION) == f"{USSR_REQUEST}:{screen_text('menu')}"
    assert await turn("1") == f"{USSR_REQUEST}:{screen_text('ask_imei')}"
    assert await turn("۴۹۰۱۵۴۲۰۳۲۳۷۵۱۸") == f"{USSR_REQUEST}:{screen_text('ask_old_number')}"
    assert await turn("09351110002") == f"{USSR_REQUEST}:{screen_text('code_sent', minutes=3)}"
    code_sms = await smsc.await_mt(SARA_NEW)  # the code comes by SMS while the screen waits
    found = CODE.search(code_sms.text)
    assert found is not None
    done = await turn(found.group())
    assert done.startswith(f"{PSSR_RESPONSE}:دستگاه با شناسه IMEI")
    assert (await gateway.registry.device(SARA_DEVICE)).sim == SARA_NEW


# Receipts as SMSCs send them; {id} is the message id of the part being receipted.
RECEIPTS = {
    "standard": "id:{id} sub:001 dlvrd:001 submit date:2612020111 done date:2612020111"
                " stat:DELIVRD err:000 text:menu",
    "12-digit dates": "id:{id} sub:001 dlvrd:001 submit date:261202011130 done date:261202011145"
                      " stat:DELIVRD err:000 text:menu",
    "err:0x0": "id:{id} sub:001 dlvrd:001 submit date:2612020111 done date:2612020111"
               " stat:DELIVRD err:0x0 text:menu",
    "sub:N/A": "id:{id} sub:N/A dlvrd:N/A submit date:2612020111 done date:2612020111"
               " stat:DELIVRD err:000 text:",
    "TLV only": "",  # receipted_message_id + message_state, sm_length 0, no message_payload
}
SHAPES = list(RECEIPTS)


@pytest.mark.parametrize("shape", SHAPES)
async def test_receipt_is_acknowledged_and_the_dialog_goes_on(
    on_smpp34: tuple[Gateway, Smpp34Smsc], shape: str
) -> None:
    _gateway, smsc = on_smpp34
    sara = Subscriber(smsc, SARA_NEW)
    menu = await sara.text("سلام")
    message_id = menu.message_ids[0]
    text = RECEIPTS[shape].format(id=message_id)
    tlvs = [] if text else [smpp34.Tlv(smpp34.TLV_RECEIPTED_MESSAGE_ID, message_id.encode() + b"\0"),
                            smpp34.Tlv(smpp34.TLV_MESSAGE_STATE, bytes([DELIVERED]))]
    status = await smsc.deliver(source_addr=SARA_NEW, source_addr_ton=1, source_addr_npi=1,
                                destination_addr=SHORTCODE, esm_class=0x04,
                                short_message=text.encode("ascii"), tlvs=tlvs)
    assert (await sara.text("1")).text == fa("ask_imei")  # first: checked even when status fails
    assert status == smpp34.ESME_ROK, f"deliver_sm_resp command_status 0x{status:08X}"


async def test_throttled_submits_are_retried_and_nothing_is_lost(
    on_smpp34: tuple[Gateway, Smpp34Smsc],
) -> None:
    gateway, smsc = on_smpp34
    throttled = [smpp34.ESME_RTHROTTLED, smpp34.ESME_ROK, smpp34.ESME_RTHROTTLED, smpp34.ESME_RMSGQFUL,
                 smpp34.ESME_RTHROTTLED]
    smsc.submit_plan.extend(throttled)
    sara = Subscriber(smsc, SARA_NEW)
    replies = [await sara.text("سلام"), await sara.text("۱")]
    assert [mt.text for mt in replies] == [fa("menu"), fa("ask_imei")]
    assert not smsc.submit_plan and gateway.sender.throttled == 4
    delivered = [part.short_message for mt in replies for part in mt.parts]
    refused = [s.short_message for s in smsc.submitted if s.status != smpp34.ESME_ROK]
    accepted = [s.short_message for s in smsc.submitted if s.status == smpp34.ESME_ROK]
    assert len(refused) == 4 and set(refused) <= set(accepted)  # each refused part was sent again
    assert sorted(accepted) == sorted(delivered)  # and every part was accepted exactly once


# Every event of a batch gets its own answer (gateway/transports/smpp_intake.py): a receipt,
# whatever its shape, never changes the answer of the MOs beside it.
BESIDE = list(RECEIPTS)


@pytest.mark.parametrize("shape", BESIDE)
async def test_a_receipt_never_refuses_the_mo_beside_it(
    on_smpp34: tuple[Gateway, Smpp34Smsc], redis_client: Redis, shape: str
) -> None:
    """Three deliver_sm sent back to back while Redis is paused (CLIENT PAUSE), as under load:
    they reach the intake in one batch, or Ali's alone first (then held by Redis) and the receipt
    with Sara's MO next; either way Sara's MO shares the receipt's batch."""
    _gateway, smsc = on_smpp34
    sara, ali = Subscriber(smsc, SARA_NEW), Subscriber(smsc, ALI)
    message_id = (await sara.text("سلام")).message_ids[0]
    text = RECEIPTS[shape].format(id=message_id)
    tlvs = [] if text else [smpp34.Tlv(smpp34.TLV_RECEIPTED_MESSAGE_ID, message_id.encode() + b"\0"),
                            smpp34.Tlv(smpp34.TLV_MESSAGE_STATE, bytes([DELIVERED]))]
    await redis_client.execute_command("CLIENT", "PAUSE", 300, "ALL")
    first, _receipt, second = await asyncio.gather(  # started, so sent, in this order
        smsc.send_mo(ALI, SHORTCODE, "1"),
        smsc.deliver(source_addr=SARA_NEW, source_addr_ton=1, source_addr_npi=1,
                     destination_addr=SHORTCODE, esm_class=0x04, short_message=text.encode(), tlvs=tlvs),
        smsc.send_mo(SARA_NEW, SHORTCODE, "1"),
    )
    assert [*first, *second] == [smpp34.ESME_ROK, smpp34.ESME_ROK], f"MO answered {[*first, *second]}"
    assert [(await ali.reply()).text, (await sara.reply()).text] == [fa("ask_imei")] * 2

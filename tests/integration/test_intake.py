"""The SMPP intake against a real Redis: every event of a batch gets its own answer, concatenated
MO are reassembled and decoded once, receipts are read and matched as SMSCs write them, and
only a possible redelivery is taken for one."""

from __future__ import annotations

import time

import pytest
import redis.asyncio
from aiosmpplib import SmppCommandStatus, SubmitSm, SubmitSmResp

from gateway.messages import InboundMessage, from_stream_entry
from gateway.store.keys import Keys
from gateway.store.mo_parts import PartsSweeper
from gateway.store.receipts import LEARNED_AFTER, RedisReceiptCorrelator
from gateway.transports.smpp_intake import IntakeConfig, MoIntake
from smpp import wire
from smpp.client import Accepted, Delivered, SmscEvent
from smpp.segmentation import concat_udh
from tests.harness import ALI, SARA_NEW
from tests.pdus import deliver_pdu

KEYS = Keys()
OK = SmppCommandStatus.ESME_ROK
NEVER = SmppCommandStatus.ESME_RX_P_APPN
EMOJI_TEXT = "سلام 🙂 همتا"
PORTS = bytes([0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0])
UNKNOWN_USSD_OP = wire.tlv_bytes(0x0501, bytes([0x55])) + wire.tlv_bytes(0x1383, b"\x01\x02")


def mo(text: str, sender: str = SARA_NEW, **options: object) -> Delivered:
    return delivered(deliver_pdu(text.encode("utf-16-be"), 0x08, source=sender, destination="7777",
                                 **options))  # type: ignore[arg-type]  # test keyword pass-through


def delivered(pdu: bytes) -> Delivered:
    return Delivered(pdu)


def receipt(text: str) -> Delivered:
    return delivered(deliver_pdu(text.encode("ascii"), esm_class=0x04, source=SARA_NEW,
                                 destination="7777"))


def accepted(message_id: str, outbound_id: str = "o1/0") -> Accepted:
    submit = SubmitSm(short_message="x", log_id=outbound_id, extra_data="1/1")
    return Accepted(submit, SubmitSmResp(1, OK, message_id=message_id))


@pytest.fixture
def intake(redis_client: redis.asyncio.Redis) -> MoIntake:
    correlator = RedisReceiptCorrelator(KEYS, 3600, "auto")
    return MoIntake(redis_client, KEYS, correlator, IntakeConfig(redelivery_grace_seconds=5))


async def stored(db: redis.asyncio.Redis, sender: str) -> list[InboundMessage]:
    entries = await db.xrange(KEYS.inbound(KEYS.partition_of(sender)))
    messages = [from_stream_entry(entry_id, fields) for entry_id, fields in entries]
    return [message for message in messages if message.sender == sender]


async def test_one_bad_event_changes_no_other_answer(
    intake: MoIntake, redis_client: redis.asyncio.Redis
) -> None:
    batch: list[SmscEvent] = [receipt("sub:001 stat:DELIVRD"), mo("۱"), mo("2", sender=ALI),
                              accepted("000397C9"),
                              delivered(deliver_pdu(b"1", source=SARA_NEW, raw_tlvs=UNKNOWN_USSD_OP))]
    assert await intake.on_events(batch, "i:1") == [OK, OK, OK, OK, NEVER]
    assert [m.text for m in await stored(redis_client, SARA_NEW)] == ["۱"]
    assert [m.text for m in await stored(redis_client, ALI)] == ["2"]
    assert await redis_client.exists(KEYS.receipt("397c9"))
    assert (intake.anomalies["receipt_unreadable"], intake.anomalies["mo_unreadable"]) == (1, 1)


@pytest.mark.parametrize(
    ("resp_id", "receipt_id"),
    [("000397C9", "235465"), ("000397d1ab", "000397D1AB"), ("235465", "397C9"), ("7", "0007")],
)
async def test_receipts_match_across_renderings(
    intake: MoIntake, redis_client: redis.asyncio.Redis, resp_id: str, receipt_id: str
) -> None:
    assert await intake.on_events([accepted(resp_id)], "i:1") == [OK]
    text = f"id:{receipt_id} sub:N/A dlvrd:001 submit date:261202011123 done date:261202011125 " \
           "stat:DELIVRD err:0x0 text:"
    assert await intake.on_events([receipt(text)], "i:1") == [OK]
    assert intake.anomalies["receipt_unknown_id"] == 0
    assert await redis_client.dbsize() == 0  # the correlation was used up


async def test_an_unknown_receipt_is_answered_ok_and_counted(intake: MoIntake) -> None:
    answers = await intake.on_events([receipt("id:beef stat:DELIVRD")] * 3, "i:1")
    assert (answers, intake.anomalies["receipt_unknown_id"]) == ([OK] * 3, 3)


async def test_an_emoji_split_across_parts_behind_a_port_element(
    intake: MoIntake, redis_client: redis.asyncio.Redis
) -> None:
    octets = EMOJI_TEXT.encode("utf-16-be")
    cut = EMOJI_TEXT.index("🙂") * 2 + 2
    udh = [bytes([11]) + PORTS + concat_udh(0x2A, 2, seq)[1:] for seq in (1, 2)]
    parts = [delivered(deliver_pdu(udh[0] + octets[:cut], 0x08, wire.UDHI, source=SARA_NEW)),
             delivered(deliver_pdu(udh[1] + octets[cut:], 0x08, wire.UDHI, source=SARA_NEW))]
    assert await intake.on_events([parts[1]], "i:1") == [OK]  # the second part first
    assert await stored(redis_client, SARA_NEW) == []
    assert await intake.on_events([parts[0]], "i:1") == [OK]
    assert [m.text for m in await stored(redis_client, SARA_NEW)] == [EMOJI_TEXT]
    assert await redis_client.zcard(KEYS.mo_parts_pending(KEYS.partition_of(SARA_NEW))) == 0


async def test_parts_that_never_complete_are_dropped_and_counted(
    intake: MoIntake, redis_client: redis.asyncio.Redis
) -> None:
    part = delivered(deliver_pdu(concat_udh(9, 3, 1) + b"a", 0, wire.UDHI, source=SARA_NEW))
    assert await intake.on_events([part], "i:1") == [OK]
    partition = KEYS.partition_of(SARA_NEW)
    sweeper = PartsSweeper(redis_client, KEYS, 60)
    assert await sweeper.sweep(partition) == 0  # not due yet
    assert await sweeper.sweep(partition, now=time.time() + 121) == 1
    assert await redis_client.hget(KEYS.stats(partition), "mo_parts_expired") == "1"
    assert await redis_client.zcard(KEYS.mo_parts_pending(partition)) == 0


async def test_a_redelivery_after_a_lost_link_is_stored_once(
    intake: MoIntake, redis_client: redis.asyncio.Redis
) -> None:
    assert await intake.on_events([mo("1")], "i:1") == [OK]
    intake.last_link_loss = lambda: ("i:1", time.time())  # lost just after the store
    assert await intake.on_events([mo("1")], "i:2") == [OK]
    assert [m.text for m in await stored(redis_client, SARA_NEW)] == ["1"]
    assert intake.duplicates == 1


@pytest.mark.parametrize(
    "lost",  # which bind was lost, and how many seconds after the first "1" was stored
    [None,  # the earlier bind was unbound in order: the SMSC had every answer
     ("i:1", 60.0),  # lost long after the first "1" was stored and answered
     ("i:7", 0.0)],  # another bind was lost, not the one the first "1" came on
)
async def test_a_citizen_repeating_is_always_answered(
    intake: MoIntake, redis_client: redis.asyncio.Redis, lost: tuple[str, float] | None
) -> None:
    assert await intake.on_events([mo("1")], "i:1") == [OK]
    # The loss's time from the store's (not from when the tests were collected, minutes ago).
    loss = None if lost is None else (lost[0], time.time() + lost[1])
    intake.last_link_loss = lambda: loss
    assert await intake.on_events([mo("1")], "i:2") == [OK]
    assert await intake.on_events([mo("1")], "i:2") == [OK]  # and on the same bind
    assert [m.text for m in await stored(redis_client, SARA_NEW)] == ["1", "1", "1"]
    assert intake.duplicates == 0


def dlr(receipt_id: str) -> Delivered:
    return receipt(f"id:{receipt_id} sub:001 dlvrd:001 stat:DELIVRD err:000 text:")


async def test_receipts_written_as_the_resp_are_looked_up_once_learned_and_others_still_match(
    intake: MoIntake, redis_client: redis.asyncio.Redis
) -> None:
    """After LEARNED_AFTER receipts found under their id as written, one GETDEL each; a receipt
    in the other rendering is still matched (a second round trip), and the learning starts over."""
    ids = [f"{n:08x}" for n in range(0x397C9, 0x397C9 + LEARNED_AFTER + 3)]
    await intake.on_events([accepted(message_id) for message_id in ids], "i:1")
    first = await intake.on_events([dlr(message_id) for message_id in ids[:LEARNED_AFTER]], "i:1")
    before = (await redis_client.info("commandstats"))["cmdstat_getdel"]["calls"]
    assert await intake.on_events([dlr(ids[LEARNED_AFTER])], "i:1") == [OK]
    after = (await redis_client.info("commandstats"))["cmdstat_getdel"]["calls"]
    assert (first, after - before) == ([OK] * LEARNED_AFTER, 1)
    in_decimal = str(int(ids[LEARNED_AFTER + 1], 16))  # the SMSC writes this one in decimal
    assert await intake.on_events([dlr(in_decimal), dlr("beef")], "i:1") == [OK, OK]
    assert intake.anomalies["receipt_unknown_id"] == 1  # only the id nobody sent
    assert await redis_client.exists(KEYS.receipt(ids[LEARNED_AFTER + 1].lstrip("0"))) == 0
    before = (await redis_client.info("commandstats"))["cmdstat_getdel"]["calls"]
    await intake.on_events([dlr(ids[LEARNED_AFTER + 2])], "i:1")
    after = (await redis_client.info("commandstats"))["cmdstat_getdel"]["calls"]
    assert after - before == 2  # learning again: both renderings at once

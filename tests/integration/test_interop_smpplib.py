"""Interop: the independent python-smpplib client against our SMSC simulator.

smpplib is blocking, so each client has one listener thread running its read loop; the test
sends from worker threads (asyncio.to_thread) and a lock keeps the two threads' writes whole.
Received deliver_sm land in a queue.Queue read with timeouts; no sleeps.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import pytest
import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.gsm
import smpplib.smpp

from smpp.segmentation import decode_udh, encode_parts
from smpp.sim import SmscSimulator

PHONE = "989121110001"
SHORTCODE = "20001"
SHORT_PERSIAN = "درخواست بازیابی دستگاه شما ثبت شد."
LONG_PERSIAN = (
    "کاربر گرامی، درخواست بازیابی دستگاه با شناسه ۳۵۵۷۶۲۰۵۲۷۹۳۲۳۵ ثبت شد. "
    "برای تایید، کد ملی مالک را ارسال کنید. این پیام از سامانه همتا است و پاسخ به آن رایگان است."
)
TIMEOUT = 5.0


@dataclass(frozen=True)
class Received:
    """What the smpplib client got in one deliver_sm."""

    esm_class: int
    data_coding: int
    source: str
    short_message: bytes
    sar: tuple[int, int, int] | None


class LockedClient(smpplib.client.Client):  # type: ignore[misc]
    """smpplib Client whose writes from the listener and the test thread never interleave."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._send_lock = threading.Lock()

    def send_pdu(self, p: Any) -> bool:
        with self._send_lock:
            return bool(super().send_pdu(p))


class SmpplibPeer:
    """An smpplib transceiver with a listener thread feeding ``received``."""

    def __init__(self, port: int) -> None:
        self.client = LockedClient(
            "127.0.0.1", port, timeout=TIMEOUT, allow_unknown_opt_params=True
        )
        self.received: queue.Queue[Received] = queue.Queue()
        self.sent_ids: queue.Queue[str] = queue.Queue()
        self.client.set_message_received_handler(self._on_deliver)
        self.client.set_message_sent_handler(self._on_submit_resp)
        self._listener = threading.Thread(target=self._listen, daemon=True)

    def open(self) -> None:
        self.client.connect()
        self.client.bind_transceiver(system_id="hamta", password="secret")
        self._listener.start()

    def close(self) -> None:
        """Unbind: the simulator answers and hangs up, which ends the listener's read loop."""
        self.client.send_pdu(smpplib.smpp.make_pdu("unbind", client=self.client))
        self._listener.join(TIMEOUT)
        assert not self._listener.is_alive()
        self.client.disconnect()

    def send(self, part: bytes, data_coding: int, esm_class: int, receipt: int = 0) -> None:
        self.client.send_message(
            source_addr_ton=smpplib.consts.SMPP_TON_UNK,
            source_addr=SHORTCODE,
            dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
            dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
            destination_addr=PHONE,
            short_message=part,
            data_coding=data_coding,
            esm_class=esm_class,
            registered_delivery=receipt,
        )

    def next_received(self) -> Received:
        return self.received.get(timeout=TIMEOUT)

    def _listen(self) -> None:
        try:
            while True:
                self.client.read_once()
        except smpplib.exceptions.ConnectionError:
            return

    def _on_deliver(self, pdu: Any, **_: Any) -> None:
        sar = None
        if pdu.sar_msg_ref_num is not None:
            sar = (pdu.sar_msg_ref_num, pdu.sar_total_segments, pdu.sar_segment_seqnum)
        source = pdu.source_addr.decode() if isinstance(pdu.source_addr, bytes) else pdu.source_addr
        self.received.put(Received(pdu.esm_class, pdu.data_coding, source, pdu.short_message, sar))

    def _on_submit_resp(self, pdu: Any, **_: Any) -> None:
        self.sent_ids.put(pdu.message_id.decode())


def reassemble_ucs2(parts: list[Received]) -> str:
    """Join UCS-2 parts by their UDH (esm_class 0x40) or SAR numbers, then decode."""
    numbered: list[tuple[int, bytes]] = []
    for part in parts:
        if part.esm_class & 0x40:
            concat, body = decode_udh(part.short_message)
            numbered.append((concat.seq if concat else 1, body))
        else:
            numbered.append((part.sar[2] if part.sar else 1, part.short_message))
    return b"".join(body for _, body in sorted(numbered)).decode("utf-16-be")


@pytest.fixture
async def peer(sim: SmscSimulator) -> AsyncIterator[SmpplibPeer]:
    client = SmpplibPeer(sim.port)
    await asyncio.to_thread(client.open)
    await sim.wait_bound(1)
    yield client
    await asyncio.to_thread(client.close)


async def test_smpplib_short_persian_is_recorded_and_receipted(
    sim: SmscSimulator, peer: SmpplibPeer
) -> None:
    parts, encoding, esm_class = smpplib.gsm.make_parts(SHORT_PERSIAN)
    assert (len(parts), encoding) == (1, smpplib.consts.SMPP_ENCODING_ISO10646)
    await asyncio.to_thread(peer.send, parts[0], encoding, esm_class, 1)
    mt = await sim.await_mt(PHONE)
    assert (mt.text, mt.data_coding, mt.parts, mt.source) == (SHORT_PERSIAN, 8, 1, SHORTCODE)
    assert await asyncio.to_thread(peer.sent_ids.get, timeout=TIMEOUT) == mt.message_ids[0]
    receipt = await asyncio.to_thread(peer.next_received)
    assert receipt.esm_class == 0x04
    assert receipt.short_message.startswith(f"id:{mt.message_ids[0]} ".encode())
    assert b" stat:DELIVRD " in receipt.short_message


async def test_smpplib_concatenated_persian_is_reassembled(
    sim: SmscSimulator, peer: SmpplibPeer
) -> None:
    parts, encoding, esm_class = smpplib.gsm.make_parts(LONG_PERSIAN)
    assert (len(parts), esm_class) == (3, smpplib.consts.SMPP_GSMFEAT_UDHI)
    for part in parts:
        await asyncio.to_thread(peer.send, part, encoding, esm_class)
    mt = await sim.await_mt(PHONE)
    assert (mt.text, mt.parts, mt.esm_class) == (LONG_PERSIAN, 3, 0x40)
    assert sim.mt_log == [mt]


async def test_our_parts_match_smpplib_split(sim: SmscSimulator) -> None:
    """Both libraries cut BMP-only UCS-2 at 67 units; only the reference number differs."""
    theirs, _, _ = smpplib.gsm.make_parts(LONG_PERSIAN)
    coding, ours = encode_parts(LONG_PERSIAN, theirs[0][3])
    assert coding == smpplib.consts.SMPP_ENCODING_ISO10646
    assert ours == theirs


async def test_short_persian_mo_reaches_smpplib(sim: SmscSimulator, peer: SmpplibPeer) -> None:
    assert await sim.send_mo(PHONE, SHORTCODE, SHORT_PERSIAN) == [0]
    received = await asyncio.to_thread(peer.next_received)
    assert (received.esm_class, received.data_coding, received.source) == (0, 8, PHONE)
    assert received.short_message.decode("utf-16-be") == SHORT_PERSIAN


@pytest.mark.parametrize("concat", ["udh", "sar"])
async def test_concatenated_persian_mo_reaches_smpplib(
    sim: SmscSimulator, peer: SmpplibPeer, concat: Literal["udh", "sar"]
) -> None:
    statuses = await sim.send_mo(PHONE, SHORTCODE, LONG_PERSIAN, concat=concat)
    assert statuses == [0, 0, 0]
    received = [await asyncio.to_thread(peer.next_received) for _ in statuses]
    assert all(r.data_coding == 8 for r in received)
    assert reassemble_ucs2(received) == LONG_PERSIAN

"""An SMSC for interop tests built on smpp34 (Rust SMPP 3.4 engine, PyPI ``smpp34``), not on our code.

smpp34's Python codec encodes only ``SubmitSm`` and ``DeliverSm``; every other PDU (binds and
their responses, enquire_link, submit_sm_resp, deliver_sm_resp, generic_nack) decodes to a
``RawPdu`` of header and raw body and cannot be encoded. An SMSC made of an asyncio socket and
that codec would hand-roll every response PDU, which is the shared-codec trap again. So this SMSC
runs smpp34's own ``smpp34.Server``: its engine frames, decodes and encodes every PDU, answers
binds, enquire_link and unbind, and sends our deliver_sm; this module only decides (accept or
throttle each submit_sm, what to deliver) and reassembles concatenated MTs with its own UDH
reader, independent of `smpp.segmentation`.

    async with Smpp34Smsc() as smsc:                     # smsc.port: a free localhost port
        esme = await smsc.wait_bound()
        mt = await smsc.await_mt("989361110003")          # a complete MT, parts put together
        statuses = await smsc.send_mo("989361110003", "7777", "سلام")
        smsc.submit_plan.extend([smpp34.ESME_RTHROTTLED])  # answer the next submit_sm so
        screen = await smsc.await_screen("989361110003")   # a submit_sm with ussd_service_op

Limits of smpp34's Python server: it accepts every bind (no credentials check) and has no
port 0, so the port is one the kernel had free a moment before (`devtools.redis_server.free_port`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import secrets
from dataclasses import dataclass, field
from typing import Final

import pytest

from devtools.redis_server import free_port

# Imported through here by the tests, so a machine without smpp34 skips them all, saying why.
smpp34 = pytest.importorskip(
    "smpp34", reason="smpp34 not installed: it has wheels for x86_64 and aarch64 only (pip install smpp34)"
)

HOST: Final = "127.0.0.1"
UCS2: Final = 8
UDHI: Final = 0x40
RECEIPT: Final = 0x04
UCS2_SINGLE: Final = 70  # UTF-16 units in one UCS-2 segment
UCS2_PART: Final = 67  # with a 6-octet UDH
TLV_SAR_REF, TLV_SAR_TOTAL, TLV_SAR_SEQ = 0x020C, 0x020E, 0x020F


@dataclass(frozen=True)
class Submitted:
    """One submit_sm as smpp34 decoded it, and how it was answered."""

    source: str
    destination: str
    esm_class: int
    data_coding: int
    registered_delivery: int
    short_message: bytes
    tlvs: dict[int, bytes]
    status: int
    message_id: str


@dataclass(frozen=True)
class Mt:
    """A complete MT: every part accepted, in sequence order."""

    destination: str
    source: str
    text: str
    data_coding: int
    parts: list[Submitted] = field(default_factory=list)

    @property
    def message_ids(self) -> list[str]:
        return [part.message_id for part in self.parts]


@dataclass(frozen=True)
class Screen:
    """A USSD screen: a submit_sm carrying ``ussd_service_op``."""

    destination: str
    text: str
    op: int
    session_info: bytes | None


def split_udh(short_message: bytes) -> tuple[tuple[int, int, int] | None, bytes]:
    """((ref, total, seq) or None, body) of a short_message that starts with a UDH (3GPP 23.040)."""
    length = short_message[0]
    header, body = short_message[1 : 1 + length], short_message[1 + length :]
    concat, at = None, 0
    while at + 2 <= len(header):
        iei, size = header[at], header[at + 1]
        value = header[at + 2 : at + 2 + size]
        if iei == 0x00 and size == 3:  # 8-bit reference
            concat = (value[0], value[1], value[2])
        elif iei == 0x08 and size == 4:  # 16-bit reference
            concat = (int.from_bytes(value[:2], "big"), value[2], value[3])
        at += 2 + size
    return concat, body


def ucs2_segments(text: str, ref: int) -> list[bytes]:
    """``text`` as UCS-2 short_messages: one whole, or 67-unit parts behind an 8-bit-ref UDH."""
    encoded = text.encode("utf-16-be")
    if len(encoded) <= 2 * UCS2_SINGLE:
        return [encoded]
    chunks = [encoded[at : at + 2 * UCS2_PART] for at in range(0, len(encoded), 2 * UCS2_PART)]
    return [bytes([5, 0, 3, ref, len(chunks), seq]) + chunk for seq, chunk in enumerate(chunks, 1)]


def decode_body(data_coding: int, body: bytes) -> str:
    """UCS-2 as UTF-16BE; anything else here is plain ASCII (GSM 03.38 basic letters and digits)."""
    return body.decode("utf-16-be") if data_coding == UCS2 else body.decode("latin-1")


class Smpp34Smsc:
    """smpp34.Server plus the test's decisions; a context manager that starts and stops it."""

    def __init__(self, system_id: str = "smpp34") -> None:
        self.system_id = system_id
        self.port = 0
        self.submit_plan: collections.deque[int] = collections.deque()  # statuses, 0 = accept
        self.submitted: list[Submitted] = []
        self._server: smpp34.Server | None = None
        self._pump: asyncio.Task[None] | None = None
        self._esmes: dict[str, smpp34.Esme] = {}
        self._bound = asyncio.Event()
        self._partial: dict[tuple[str, str, int], dict[int, Submitted]] = {}
        self._mts: collections.defaultdict[str, asyncio.Queue[Mt]] = collections.defaultdict(asyncio.Queue)
        self._screens: collections.defaultdict[str, asyncio.Queue[Screen]] = (
            collections.defaultdict(asyncio.Queue))
        self._refs = itertools.count(secrets.randbelow(256))

    async def __aenter__(self) -> Smpp34Smsc:
        for _ in range(5):  # the free port may be taken between choosing and listening
            self.port = free_port(HOST)
            server = smpp34.Server(HOST, self.port, system_id=self.system_id)
            try:
                await server.start()
            except smpp34.SmppError:  # "TCP bind of 127.0.0.1:N failed: Address already in use"
                continue
            self._server = server
            self._pump = asyncio.create_task(self._run())
            return self
        raise RuntimeError("smpp34.Server could not listen on a free port")

    async def __aexit__(self, *exc_info: object) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        if self._server is not None:
            await self._server.stop()

    # -- what the tests call -------------------------------------------------------------------

    async def wait_bound(self, timeout: float = 5.0) -> smpp34.Esme:
        async with asyncio.timeout(timeout):
            await self._bound.wait()
        return next(iter(self._esmes.values()))

    async def await_mt(self, destination: str, timeout: float = 10.0) -> Mt:
        async with asyncio.timeout(timeout):
            return await self._mts[destination].get()

    async def await_screen(self, destination: str, timeout: float = 10.0) -> Screen:
        async with asyncio.timeout(timeout):
            return await self._screens[destination].get()

    async def deliver(self, timeout: float = 5.0, **fields: object) -> int:
        """One deliver_sm through smpp34 to the bound ESME; its deliver_sm_resp command_status."""
        esme = await self.wait_bound(timeout)
        async with asyncio.timeout(timeout):
            response = await esme.deliver_sm(**fields)  # type: ignore[arg-type]
        return response.command_status

    async def send_mo(self, source: str, destination: str, text: str) -> list[int]:
        """``text`` as UCS-2 MO, concatenated with a UDH when it needs more than one segment."""
        segments = ucs2_segments(text, next(self._refs) % 256)
        esm_class = UDHI if len(segments) > 1 else 0
        return [await self.deliver(source_addr=source, source_addr_ton=1, source_addr_npi=1,
                                   destination_addr=destination, esm_class=esm_class,
                                   data_coding=UCS2, short_message=segment)
                for segment in segments]

    async def send_ussd(self, msisdn: str, code: str, text: str, op: int, session_info: bytes) -> int:
        """A USSD deliver_sm (service_type USSD) with ussd_service_op and its_session_info."""
        ascii_text = text.isascii()
        return await self.deliver(
            service_type="USSD", source_addr=msisdn, source_addr_ton=1, source_addr_npi=1,
            destination_addr=code, data_coding=0 if ascii_text else UCS2,
            short_message=text.encode("ascii" if ascii_text else "utf-16-be"),
            tlvs=[smpp34.Tlv(smpp34.TLV_USSD_SERVICE_OP, bytes([op])),
                  smpp34.Tlv(smpp34.TLV_ITS_SESSION_INFO, session_info)])

    # -- the engine's events -------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._server is not None
        while True:
            event = await self._server.next()
            if isinstance(event, smpp34.Esme):
                self._esmes[event.session_id] = event
                self._bound.set()
            elif isinstance(event, smpp34.Unbound):
                self._esmes.pop(event.session_id, None)
                if not self._esmes:
                    self._bound.clear()
            else:
                self._on_submit(event)

    def _on_submit(self, event: smpp34.SubmitSmEvent) -> None:
        status = self.submit_plan.popleft() if self.submit_plan else smpp34.ESME_ROK
        message_id = secrets.token_hex(8) if status == smpp34.ESME_ROK else ""
        if status == smpp34.ESME_ROK:
            event.accept(message_id)
        else:
            event.reject(status)
        tlvs = {tlv.tag: tlv.value for tlv in event.tlvs}
        submitted = Submitted(event.source_addr, event.destination_addr, event.esm_class,
                              event.data_coding, event.registered_delivery, event.short_message,
                              tlvs, status, message_id)
        self.submitted.append(submitted)
        if status != smpp34.ESME_ROK:
            return
        if smpp34.TLV_USSD_SERVICE_OP in tlvs:
            self._screen(submitted)
        else:
            self._collect(submitted)

    def _screen(self, part: Submitted) -> None:
        screen = Screen(part.destination, decode_body(part.data_coding, part.short_message),
                        tlvs_int(part.tlvs[smpp34.TLV_USSD_SERVICE_OP]),
                        part.tlvs.get(smpp34.TLV_ITS_SESSION_INFO))
        self._screens[part.destination].put_nowait(screen)

    def _collect(self, part: Submitted) -> None:
        concat, body = concat_of(part)
        if concat is None or concat[1] <= 1:
            self._complete([(part, body)])
            return
        ref, total, seq = concat
        received = self._partial.setdefault((part.source, part.destination, ref), {})
        received[seq] = part
        if len(received) == total:
            del self._partial[part.source, part.destination, ref]
            self._complete([(received[s], concat_of(received[s])[1]) for s in sorted(received)])

    def _complete(self, parts: list[tuple[Submitted, bytes]]) -> None:
        first = parts[0][0]
        text = decode_body(first.data_coding, b"".join(body for _, body in parts))
        mt = Mt(first.destination, first.source, text, first.data_coding, [p for p, _ in parts])
        self._mts[first.destination].put_nowait(mt)


def tlvs_int(value: bytes) -> int:
    return int.from_bytes(value, "big")


def concat_of(part: Submitted) -> tuple[tuple[int, int, int] | None, bytes]:
    """The part's (ref, total, seq) from its UDH or its SAR TLVs, and its body without the UDH."""
    if part.esm_class & UDHI:
        return split_udh(part.short_message)
    if TLV_SAR_REF in part.tlvs:
        sar = (tlvs_int(part.tlvs[TLV_SAR_REF]), tlvs_int(part.tlvs[TLV_SAR_TOTAL]),
               tlvs_int(part.tlvs[TLV_SAR_SEQ]))
        return sar, part.short_message
    return None, part.short_message

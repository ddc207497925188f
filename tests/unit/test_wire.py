"""smpp.wire: framing edge cases and the aiosmpplib quirks smoothed over before decoding."""

from __future__ import annotations

import asyncio
import logging
import struct

import pytest
from aiosmpplib import (
    NPI,
    TON,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    GenericNack,
    SmppCommand,
    SmppCommandStatus,
    SubmitSmResp,
)
from aiosmpplib.state import MESSAGE_STATE, RECEIPTED_MESSAGE_ID

from smpp import client, errors, sim, ussd, wire
from smpp.deliver import read_deliver
from smpp.masking import mask_number
from smpp.segmentation import concat_udh
from tests.pdus import PHONE, SHORTCODE, deliver_pdu

Status = SmppCommandStatus
PERSIAN = "سلام"
VENDOR_STATUS = 0x00000458


def reader_of(*chunks: bytes, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    for chunk in chunks:
        reader.feed_data(chunk)
    if eof:
        reader.feed_eof()
    return reader


def header(length: int, command_id: int, status: int = 0, sequence: int = 7) -> bytes:
    return struct.pack("!IIII", length, command_id, status, sequence)



def with_tlvs(pdu: bytes, *tlvs: tuple[int, bytes]) -> bytes:
    raw = b"".join(struct.pack("!HH", tag, len(value)) + value for tag, value in tlvs)
    return struct.pack("!I", len(pdu) + len(raw)) + pdu[4:] + raw


def decoded(pdu: bytes) -> DeliverSm:
    """aiosmpplib's reading of a deliver_sm the session's own check (what every deliver_sm goes
    through before it is answered) lets through."""
    wire.check_deliver(pdu)
    message = wire.decode(wire.Frame.parse(pdu))
    assert isinstance(message, DeliverSm)
    return message


def refused(pdu: bytes, match: str | None = None) -> None:
    """Undecodable both to the session's check and to aiosmpplib's reading."""
    with pytest.raises(wire.UndecodablePdu, match=match):
        wire.check_deliver(pdu)
    with pytest.raises(wire.UndecodablePdu, match=match):
        wire.decode(wire.Frame.parse(pdu))


# -- framing -------------------------------------------------------------------------------


async def test_reads_a_pdu_and_its_header_numbers() -> None:
    frame = await wire.read_pdu(reader_of(EnquireLink(sequence_num=42).pdu()))
    assert (frame.command, frame.status, frame.sequence) == (
        SmppCommand.ENQUIRE_LINK, Status.ESME_ROK, 42,
    )
    assert not frame.is_response and frame.name == "enquire_link"


async def test_reads_back_to_back_and_split_pdus() -> None:
    first, second = EnquireLink(sequence_num=1).pdu(), SubmitSmResp(2, message_id="abc").pdu()
    both = first + second
    reader = reader_of(both[:5], both[5:20], both[20:])
    assert (await wire.read_pdu(reader)).data == first
    assert (await wire.read_pdu(reader)).data == second


async def test_a_header_only_pdu_is_sixteen_octets() -> None:
    frame = await wire.read_pdu(reader_of(header(16, SmppCommand.UNBIND_RESP | 0)))
    assert frame.is_response and len(frame.data) == 16


async def test_vendor_status_is_framed_and_read_as_unknown_error() -> None:
    frame = await wire.read_pdu(reader_of(header(16, SmppCommand.SUBMIT_SM_RESP, VENDOR_STATUS)))
    assert frame.status is Status.ESME_RUNKNOWNERR
    assert frame.status_code == VENDOR_STATUS
    assert "0x00000458" in wire.status_label(frame.status_code)
    assert wire.status_label(Status.ESME_RTHROTTLED) == "ESME_RTHROTTLED"


async def test_unknown_command_is_framed_but_not_decodable() -> None:
    frame = await wire.read_pdu(reader_of(header(20, 0x00000999) + b"\0\0\0\0"))
    assert frame.command is None and not frame.is_response
    assert frame.name == "command 0x00000999"
    with pytest.raises(wire.UndecodablePdu):
        wire.decode(frame)


@pytest.mark.parametrize("length", [0, 15, wire.MAX_PDU_LENGTH + 1, 0xFFFFFFFF])
async def test_absurd_length_is_a_framing_error(length: int) -> None:
    with pytest.raises(wire.PduFramingError) as caught:
        await wire.read_pdu(reader_of(header(length, SmppCommand.SUBMIT_SM, sequence=99)))
    assert caught.value.sequence == 99


async def test_clean_end_of_stream_has_no_partial_data() -> None:
    with pytest.raises(asyncio.IncompleteReadError) as caught:
        await wire.read_pdu(reader_of())
    assert caught.value.partial == b""


async def test_end_of_stream_inside_a_pdu_is_incomplete() -> None:
    with pytest.raises(asyncio.IncompleteReadError) as caught:
        await wire.read_pdu(reader_of(header(40, SmppCommand.DELIVER_SM) + b"abc"))
    assert caught.value.partial == b"abc"


# -- responses -------------------------------------------------------------------------------


def test_submit_sm_resp_with_an_odd_message_id_is_still_accepted() -> None:
    pdu = SubmitSmResp(5, message_id="x").pdu()
    odd = struct.pack("!I", len(pdu) + 2) + pdu[4:-2] + b"\xff" + b"y" * 70 + b"\0"
    odd = struct.pack("!I", len(odd)) + odd[4:]
    response = wire.decode(wire.Frame.parse(odd))
    assert isinstance(response, SubmitSmResp)
    assert response.command_status is Status.ESME_ROK
    assert len(response.message_id) == wire.MAX_MESSAGE_ID and response.message_id.endswith("y")


def test_error_submit_sm_resp_without_a_body() -> None:
    response = wire.decode(wire.Frame.parse(header(16, SmppCommand.SUBMIT_SM_RESP, VENDOR_STATUS)))
    assert isinstance(response, SubmitSmResp)
    assert (response.command_status, response.message_id) == (Status.ESME_RUNKNOWNERR, "")


def test_generic_nack_decodes() -> None:
    nack = wire.decode(wire.Frame.parse(GenericNack(3, Status.ESME_RINVCMDID).pdu()))
    assert isinstance(nack, GenericNack) and nack.command_status is Status.ESME_RINVCMDID


# -- deliver_sm bodies ----------------------------------------------------------------------


def test_default_alphabet_is_gsm_0338_not_ascii() -> None:
    # GSM 03.38: 0x00 '@', 0x02 '$', 0x11 '_'; read as ASCII they would be control characters.
    assert decoded(deliver_pdu(b"a\x00b\x02c\x11")).short_message == "a@b$c_"


@pytest.mark.parametrize(
    ("data_coding", "payload", "text"),
    [
        (0x00, b"hello", "hello"),
        (0x08, PERSIAN.encode("utf-16-be"), PERSIAN),
        (0x10, b"class 0", "class 0"),  # general group, message class 0, default alphabet
        (0x18, PERSIAN.encode("utf-16-be"), PERSIAN),  # general group, class 0 (flash), UCS2
        (0x15, b"8-bit", "8-bit"),  # general group, class 1, 8-bit
        (0x48, PERSIAN.encode("utf-16-be"), PERSIAN),  # automatic deletion group, UCS2
        (0xC8, b"waiting", "waiting"),  # message waiting, discard, default alphabet
        (0xE0, PERSIAN.encode("utf-16-be"), PERSIAN),  # message waiting, store, UCS2
        (0xF0, b"flash@", "flash\u00a1"),  # data coding/message class: GSM (0x40 is inverted !)
        (0xF1, b"ME", "ME"),
        (0xF4, b"octets", "octets"),  # data coding/message class: 8-bit
    ],
)
def test_data_coding_aliases(data_coding: int, payload: bytes, text: str) -> None:
    assert decoded(deliver_pdu(payload, data_coding)).short_message == text


@pytest.mark.parametrize("data_coding", [0x0B, 0x0C, 0x0D, 0x0F, 0x1C, 0x20, 0x3F, 0x80, 0xBF])
def test_data_coding_without_an_alphabet_is_undecodable(data_coding: int) -> None:
    refused(deliver_pdu(b"?", data_coding), f"0x{data_coding:02x}")


def test_alias_table_targets_are_codings_aiosmpplib_knows() -> None:
    assert set(wire.DATA_CODING_ALIASES.values()) == {0x00, 0x04, 0x08}
    assert all(wire.known_coding(dc) in {0x00, 0x04, 0x08} for dc in wire.DATA_CODING_ALIASES)


@pytest.mark.parametrize(
    "payload",
    [
        b"\xd8\x00\x00\x41",  # a high surrogate without its low half
        "ا".encode("utf-16-be")[:1],  # half a character decodes to nothing, see below
    ],
)
def test_a_part_whose_text_is_unreadable_alone_keeps_its_envelope(payload: bytes) -> None:
    """Half of a surrogate pair is completed by the next part: the text is read from the raw
    octets once the message is whole (smpp/deliver.py), so the part is not refused."""
    pdu = deliver_pdu(payload, 0x08)
    message = decoded(pdu)
    assert (message.short_message, message.source.number) == ("", "989121110001")
    assert read_deliver(pdu).user_data == payload


def test_empty_message_is_undecodable() -> None:
    # aiosmpplib refuses a deliver_sm with neither short_message nor message_payload.
    pdu = deliver_pdu(b"x")
    at = wire.layout(pdu)
    empty = pdu[: at.short_message.start - 1] + b"\0" + pdu[at.short_message.stop :]
    refused(struct.pack("!I", len(empty)) + empty[4:], "short_message")


def test_an_unreadable_gsm_part_keeps_its_envelope() -> None:
    message = decoded(deliver_pdu(b"\x80\x81", 0x00))
    assert message.short_message == ""


def test_udh_part_keeps_its_concatenation() -> None:
    payload = concat_udh(0x1234, 3, 2, wide=True) + PERSIAN.encode("utf-16-be")
    message = decoded(deliver_pdu(payload, 0x18, esm_class=wire.UDHI))
    assert message.short_message == PERSIAN
    assert wire.concatenation(message) == (0x1234, 2, 3)


def test_unknown_ton_and_npi_read_as_unknown() -> None:
    pdu = bytearray(deliver_pdu())
    at = wire.layout(bytes(pdu))
    pdu[at.source_ton : at.source_ton + 2] = b"\x07\x0f"
    pdu[at.dest_ton : at.dest_ton + 2] = b"\x09\x02"
    message = decoded(bytes(pdu))
    assert (message.source.ton, message.source.npi) == (TON.UNKNOWN, NPI.UNKNOWN)
    assert (message.destination.ton, message.destination.npi) == (TON.UNKNOWN, NPI.UNKNOWN)
    assert message.source.number == PHONE


def test_tlvs_aiosmpplib_cannot_read_are_dropped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="smpp.wire")
    pdu = with_tlvs(
        deliver_pdu(),
        (0x1403, b"\x00\xff\x10"),  # vendor TLV with binary content
        (MESSAGE_STATE, b"\x00\x00\x02"),  # an int TLV with a length aiosmpplib cannot unpack
        (RECEIPTED_MESSAGE_ID, b"abc\0"),
        (0x1500, b"plain"),  # a vendor TLV that is text is kept
    )
    message = decoded(pdu)
    assert {(p.tag, p.value) for p in message.optional_params} == {
        (RECEIPTED_MESSAGE_ID, "abc"), (0x1500, "plain"),
    }
    assert "0x1403" in caplog.text and f"0x{MESSAGE_STATE:04x}" in caplog.text


@pytest.mark.parametrize("cut", [b"\x14", b"\x14\x03\x00", b"\x14\x03\x00\x05ab"])
def test_truncated_tlv_is_undecodable(cut: bytes) -> None:
    pdu = deliver_pdu() + cut
    refused(struct.pack("!I", len(pdu)) + pdu[4:], "cut short")


@pytest.mark.parametrize("length", [17, 20, 40])
def test_body_cut_short_is_undecodable(length: int) -> None:
    pdu = deliver_pdu()[:length]
    refused(struct.pack("!I", length) + pdu[4:])


def test_short_message_length_beyond_the_pdu_is_undecodable() -> None:
    pdu = bytearray(deliver_pdu(b"abc"))
    pdu[wire.layout(bytes(pdu)).short_message.start - 1] = 200
    refused(bytes(pdu), "cut short")


def test_raw_fields() -> None:
    pdu = deliver_pdu(b"raw bytes", 0xF0)
    assert wire.short_message_bytes(pdu) == b"raw bytes"
    assert wire.source_address(pdu) == PHONE
    assert wire.source_address(pdu[:20]) == ""


# -- the SMPP layer's one error tree (smpp.errors) ------------------------------------------

# class, retryable, its second builtin base (callers catching that keep working), old home
ERROR_TREE = [
    (errors.SubmitFailed, True, None, client),
    (errors.BindRefused, True, None, client),
    (errors.PduFramingError, False, ValueError, wire),
    (errors.UndecodablePdu, False, ValueError, wire),
    (errors.UssdTlvError, False, ValueError, ussd),
    (errors.UnknownUssdOp, False, ValueError, ussd),
    (errors.NoReceiverBound, False, RuntimeError, sim),
    (errors.UssdStateError, False, RuntimeError, sim),
]


@pytest.mark.parametrize(("error", "retryable", "base", "home"), ERROR_TREE)
def test_every_smpp_error_is_in_the_one_tree(
    error: type[errors.SmppError], retryable: bool, base: type[Exception] | None, home: object
) -> None:
    assert issubclass(error, errors.SmppError)
    assert error.retryable is retryable
    assert base is None or issubclass(error, base)
    assert getattr(home, error.__name__) is error  # the old import still works, same class
    assert error.__doc__ and error.__name__ in (errors.__doc__ or "")


def test_the_tree_lists_every_error_of_the_module() -> None:
    defined = {value for value in vars(errors).values()
               if isinstance(value, type) and issubclass(value, errors.SmppError)}
    assert defined == {errors.SmppError} | {error for error, *_ in ERROR_TREE}


@pytest.mark.parametrize(
    ("number", "masked"),
    [(PHONE, "9891***0001"), ("+98 912 111 0001", "9891***0001"), ("09121110001", "0912***0001"),
     (SHORTCODE, "***"), ("", "***")],
)
def test_numbers_are_masked_for_logs(number: str, masked: str) -> None:
    assert mask_number(number) == masked
    assert sim.mask_number is mask_number  # the simulator's is the same helper


@pytest.mark.parametrize(
    "tlv",
    [
        wire.tlv_bytes(0x0501, b"\x11"),  # ussd_service_op: a USSD notice may carry no text
        wire.tlv_bytes(RECEIPTED_MESSAGE_ID, b"1f\0") + wire.tlv_bytes(MESSAGE_STATE, b"\x02"),
    ],
)
def test_a_textless_ussd_pdu_or_tlv_only_receipt_passes_the_check(tlv: bytes) -> None:
    pdu = deliver_pdu(b"", raw_tlvs=tlv)
    wire.check_deliver(pdu)
    assert decoded(pdu).short_message == ""


@pytest.mark.parametrize("status", [SmppCommandStatus.ESME_ROK, SmppCommandStatus.ESME_RX_T_APPN,
                                    SmppCommandStatus.ESME_RX_P_APPN])
@pytest.mark.parametrize("sequence", [1, 7, 0x7FFFFFFF])
def test_a_deliver_sm_resp_is_packed_as_aiosmpplib_writes_it(sequence: int,
                                                              status: SmppCommandStatus) -> None:
    assert wire.deliver_sm_resp(sequence, status) == DeliverSmResp(sequence, status).pdu()

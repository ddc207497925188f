"""USSD over SMPP: dialect tables both ways, the raw TLVs, screens, and the settings section."""

from __future__ import annotations

import pytest
import yaml
from aiosmpplib import DeliverSm, OptionalParam, PhoneNumber
from aiosmpplib.state import ITS_SESSION_INFO, USSD_SERVICE_OP
from pydantic import ValidationError

from gateway.settings import UssdSettings
from smpp import wire
from smpp.sim.ussd import screen_text
from smpp.submit import Addressing
from smpp.ussd import (
    BUILTIN_DIALECTS,
    EXAMPLE_USSN_CONFIRM,
    EXAMPLE_VENDOR_RELEASE,
    SMPP34,
    UnknownUssdOp,
    UssdDialect,
    UssdParams,
    UssdTlvError,
    build_screen,
    event_of,
    inbound_op,
    reply_op,
    reply_tlvs,
    screen_ends,
    ussd_params,
    ussd_tlvs,
)  # fmt: skip

MSISDN = "989121110001"
INFO = b"\x81\xfe"  # an octet >= 0x80: aiosmpplib can neither read nor write it

# -- the tables, incoming ----------------------------------------------------------------------

INCOMING = [
    (SMPP34, 1, "begin"),
    (SMPP34, 18, "continue"),
    (EXAMPLE_USSN_CONFIRM, 1, "begin"),
    (EXAMPLE_USSN_CONFIRM, 0, "begin"),
    (EXAMPLE_USSN_CONFIRM, 19, "continue"),
    (EXAMPLE_USSN_CONFIRM, 18, "continue"),
    (EXAMPLE_VENDOR_RELEASE, 1, "begin"),
    (EXAMPLE_VENDOR_RELEASE, 18, "continue"),
    (EXAMPLE_VENDOR_RELEASE, 32, "abort"),
    (EXAMPLE_VENDOR_RELEASE, 33, "timeout"),
]
UNKNOWN_INCOMING = [
    (SMPP34, 0), (SMPP34, 2), (SMPP34, 17), (SMPP34, 19), (SMPP34, 32),
    (EXAMPLE_USSN_CONFIRM, 3), (EXAMPLE_VENDOR_RELEASE, 19), (EXAMPLE_VENDOR_RELEASE, 0x81),
]  # fmt: skip


@pytest.mark.parametrize(("dialect", "op", "event"), INCOMING)
def test_incoming_op_codes(dialect: UssdDialect, op: int, event: str) -> None:
    assert event_of(dialect, op) == event


@pytest.mark.parametrize(("dialect", "op"), UNKNOWN_INCOMING)
def test_unknown_incoming_op_code(dialect: UssdDialect, op: int) -> None:
    with pytest.raises(UnknownUssdOp) as caught:
        event_of(dialect, op)
    assert caught.value.op == op
    assert dialect.name in str(caught.value)


@pytest.mark.parametrize(
    ("dialect", "event", "op"),
    [(SMPP34, "begin", 1), (SMPP34, "continue", 18), (SMPP34, "abort", None),
     (SMPP34, "timeout", None), (EXAMPLE_USSN_CONFIRM, "continue", 19),
     (EXAMPLE_VENDOR_RELEASE, "abort", 32), (EXAMPLE_VENDOR_RELEASE, "timeout", 33)],
)  # fmt: skip
def test_op_code_an_smsc_sends_for_an_event(dialect: UssdDialect, event: str, op: int | None) -> None:
    assert inbound_op(dialect, event) == op  # type: ignore[arg-type]


# -- the tables, outgoing ----------------------------------------------------------------------

OUTGOING = [
    (SMPP34, False, 2),
    (SMPP34, True, 17),
    (EXAMPLE_USSN_CONFIRM, False, 3),
    (EXAMPLE_USSN_CONFIRM, True, 17),
    (EXAMPLE_VENDOR_RELEASE, False, 2),
    (EXAMPLE_VENDOR_RELEASE, True, 17),
]


@pytest.mark.parametrize(("dialect", "end", "op"), OUTGOING)
def test_outgoing_op_codes(dialect: UssdDialect, end: bool, op: int) -> None:
    assert reply_op(dialect, end) == op
    assert screen_ends(dialect, op) is end


@pytest.mark.parametrize(("dialect", "op"), [(SMPP34, 18), (SMPP34, 3), (EXAMPLE_USSN_CONFIRM, 2)])
def test_not_a_screen_op_code(dialect: UssdDialect, op: int) -> None:
    assert screen_ends(dialect, op) is None


@pytest.mark.parametrize(
    "fields",
    [{"begin_ops": (1,), "continue_ops": (1,)}, {"begin_ops": (), "continue_ops": (18,)},
     {"begin_ops": (1,), "continue_ops": (18,), "continue_op": 17},
     {"begin_ops": (256,), "continue_ops": (18,)},
     {"begin_ops": (1,), "continue_ops": (18,), "abort_ops": (33,), "timeout_ops": (33,)}],
)  # fmt: skip
def test_a_contradictory_dialect_is_refused(fields: dict[str, object]) -> None:
    table = {"abort_ops": (), "timeout_ops": (), "continue_op": 2, "end_op": 17, **fields}
    with pytest.raises(ValueError, match="dialect 'x'"):
        UssdDialect("x", **table)  # type: ignore[arg-type]


# -- the TLVs, raw -----------------------------------------------------------------------------


def deliver_pdu(tlvs: bytes, text: str = "*7777#") -> bytes:
    message = DeliverSm(short_message=text, source=PhoneNumber(MSISDN), destination=PhoneNumber("*7777#"))
    return wire.append_tlvs(message.pdu(), tlvs)


@pytest.mark.parametrize(
    ("tlvs", "expected"),
    [(ussd_tlvs(1, INFO), UssdParams(1, INFO)),
     (ussd_tlvs(0, b"\x00\x00"), UssdParams(0, b"\x00\x00")),  # aiosmpplib reads op 0 as ""
     (ussd_tlvs(18, b""), UssdParams(18, b"")),
     (wire.tlv_bytes(ITS_SESSION_INFO, INFO) + wire.tlv_bytes(USSD_SERVICE_OP, b"\x21"),
      UssdParams(33, INFO)),
     (b"", None)],
)  # fmt: skip
def test_ussd_params_from_raw_deliver_sm(tlvs: bytes, expected: UssdParams | None) -> None:
    assert ussd_params(deliver_pdu(tlvs)) == expected


def test_a_plain_sms_with_other_tlvs_is_not_ussd() -> None:
    message = DeliverSm(short_message="hi", source=PhoneNumber(MSISDN),
                        optional_params=[OptionalParam(0x0204, 7)])  # user_message_reference
    assert ussd_params(message.pdu()) is None


@pytest.mark.parametrize("value", [b"", b"\x00\x01"])
def test_an_op_code_not_one_octet_is_an_error(value: bytes) -> None:
    with pytest.raises(UssdTlvError):
        ussd_params(deliver_pdu(wire.tlv_bytes(USSD_SERVICE_OP, value)))


def test_a_cut_tlv_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="TLV 0x1383 cut short"):
        ussd_params(deliver_pdu(ussd_tlvs(1, INFO))[:-1])


@pytest.mark.parametrize(
    ("dialect", "end", "expected"),
    [(SMPP34, False, "0501000102" "1383000281fe"), (SMPP34, True, "0501000111" "1383000281fe"),
     (EXAMPLE_USSN_CONFIRM, False, "0501000103" "1383000281fe")],
)  # fmt: skip
def test_reply_tlvs_are_one_octet_op_and_the_session_info_byte_exact(
    dialect: UssdDialect, end: bool, expected: str
) -> None:
    assert reply_tlvs(dialect, end, INFO).hex() == expected


@pytest.mark.parametrize("data_coding", [0, 8])
def test_a_deliver_sm_without_text_reads_as_empty_text(data_coding: int) -> None:
    """aiosmpplib refuses one; SMSCs send them (a USSD abort), so wire reads them as ""."""
    pdu = bytearray(deliver_pdu(ussd_tlvs(32, INFO), text="x"))
    at = wire.layout(bytes(pdu))
    pdu[at.data_coding] = data_coding
    textless = wire.append_tlvs(bytes(pdu[: at.short_message.start - 1]) + b"\0", bytes(pdu[at.tlvs :]))
    message = wire.decode(wire.Frame.parse(textless))
    assert isinstance(message, DeliverSm)
    assert (message.short_message, message.source.number) == ("", MSISDN)
    assert ussd_params(textless) == UssdParams(32, INFO)


def test_reply_without_session_info_has_only_the_op() -> None:
    assert reply_tlvs(SMPP34, True, b"") == bytes.fromhex("0501000111")


# -- screens -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "coding"), [("1. Restore\n2. Password", 0), ("۱. بازیابی دستگاه", 8)])
@pytest.mark.parametrize("end", [False, True])
def test_screen_pdu_carries_text_and_tlvs(text: str, coding: int, end: bool) -> None:
    screen = build_screen(text, MSISDN, Addressing("7777"), SMPP34, end=end, session_info=INFO)
    pdu = screen.pdu()
    assert ussd_params(pdu) == UssdParams(17 if end else 2, INFO)
    assert wire.destination_address(pdu) == MSISDN
    assert pdu[wire.layout(pdu).data_coding] == coding
    assert screen_text(pdu) == text
    assert screen.registered_delivery == 0 and screen.service_type == "USSD"
    assert int.from_bytes(pdu[:4], "big") == len(pdu)


@pytest.mark.parametrize(("text", "fits"), [("ب" * 80, True), ("ب" * 81, False),
                                            ("a" * 182, True), ("a" * 183, False),
                                            ("{" * 91, True), ("{" * 92, False)])  # fmt: skip
def test_one_screen_is_160_octets_of_ucs2_or_182_septets(text: str, fits: bool) -> None:
    build = lambda: build_screen(text, MSISDN, Addressing("7777"), SMPP34, end=True, session_info=INFO)  # noqa: E731
    if fits:
        build()
    else:
        with pytest.raises(ValueError, match="USSD screen"):
            build()


# -- settings ----------------------------------------------------------------------------------

CONFIG = """
ussd:
  dialect: mci_like
  session_seconds: 120
  resume_seconds: 240
  answer_budget_seconds: 1.5
  dialects:
    mci_like: {begin_ops: [1], continue_ops: [18], abort_ops: [129], continue_op: 2, end_op: 17}
"""


def test_settings_defaults_are_smpp_3_4() -> None:
    settings = UssdSettings()
    assert settings.selected_dialect() is SMPP34
    assert (settings.session_seconds, settings.resume_seconds,
            settings.answer_budget_seconds) == (180, 300, 2)  # fmt: skip
    assert set(settings.all_dialects()) == set(BUILTIN_DIALECTS)


def test_settings_from_a_config_section() -> None:
    settings = UssdSettings.model_validate(yaml.safe_load(CONFIG)["ussd"])
    dialect = settings.selected_dialect()
    assert (dialect.name, dialect.abort_ops, event_of(dialect, 129)) == ("mci_like", (129,), "abort")
    assert settings.session_seconds == 120


@pytest.mark.parametrize("name", sorted(BUILTIN_DIALECTS))
def test_settings_choose_a_builtin_dialect(name: str) -> None:
    assert UssdSettings(dialect=name).selected_dialect() is BUILTIN_DIALECTS[name]


@pytest.mark.parametrize(
    ("section", "complaint"),
    [({"dialect": "nope"}, "unknown dialect 'nope'"),
     ({"dialects": {"x": {"begin_ops": [1], "continue_ops": [1], "continue_op": 2, "end_op": 17}}},
      "incoming op code has two meanings"),
     ({"dialects": {"x": {"begin_ops": [1], "continue_ops": [18], "continue_op": 2, "end_op": 300}}},
      "less than or equal to 255"),
     ({"dialects": {"x": {"begin_ops": [1], "continue_ops": [18], "continue_op": 2}}}, "end_op"),
     ({"session_seconds": 0}, "session_seconds")],
)  # fmt: skip
def test_bad_settings_are_refused_with_a_reason(section: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        UssdSettings.model_validate(section)

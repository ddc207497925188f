"""The one message type in the inbound stream: `to_stream_fields` and `from_stream_entry` are
each other's inverse, and the stream entry holds only what differs from the defaults."""

from __future__ import annotations

import pytest

from gateway.messages import InboundMessage, field_pairs, from_stream_entry, to_stream_fields

SMS = InboundMessage(sender="989361110003", recipient="7777", text="سلام ۱", received_at=1.5)
USSD = InboundMessage(
    channel="ussd", transport="smpp", sender="989361110003", recipient="*7777#", text="",
    received_at=2.25, session_id="smpp:989361110003:0102", ussd_event="begin", session_info="0102",
)
HTTP_SMS = InboundMessage(transport="http", sender="989121110001", recipient="7777", text="2",
                          received_at=3.0)


@pytest.mark.parametrize("message", [SMS, USSD, HTTP_SMS])
def test_a_message_survives_the_stream(message: InboundMessage) -> None:
    fields = to_stream_fields(message)
    assert all(isinstance(value, str) for value in fields.values())
    assert from_stream_entry("1700000000000-0", fields) == message.model_copy(
        update={"id": "1700000000000-0"})


def test_defaults_stay_out_of_the_entry_but_the_text_never_does() -> None:
    assert to_stream_fields(SMS) == {"sender": "989361110003", "recipient": "7777",
                                     "text": "سلام ۱", "received_at": "1.500"}
    assert to_stream_fields(USSD)["text"] == ""
    assert to_stream_fields(HTTP_SMS)["transport"] == "http"


def test_the_entry_id_is_never_a_field() -> None:
    assert "id" not in to_stream_fields(SMS.model_copy(update={"id": "http-sms:42"}))


def test_lua_gets_name_value_pairs_in_order() -> None:
    assert field_pairs({"a": "1", "b": "2"}) == ["a", "1", "b", "2"]

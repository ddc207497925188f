"""The one message type that crosses the layers: transports make these, workers consume them.

`channel` is what the citizen uses (an SMS thread or a USSD screen); `transport` is how the
gateway reached them or reaches them (SMPP to the SMSC, or an HTTP aggregator).

Every transport builds an `InboundMessage` at its edge (gateway/transports/); in the inbound
stream it is the entry made by `to_stream_fields` and read back by `from_stream_entry`, the
one place that knows how a message is laid out in Redis (the Lua scripts get field pairs).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, Field

from flows.dialog_types import Channel, ReplyKind
from smpp.deliver import decode_user_data

Transport = Literal["smpp", "http"]
# A USSD dialogue's events, whatever the operator's op codes (see smpp/ussd.py's dialects).
UssdEvent = Literal["", "begin", "continue", "abort", "timeout"]
# The outbound stream a reply queues in (gateway/worker.py: TurnWorker._lane).
Lane = Literal["dialog", "sessionless"]


class InboundMessage(BaseModel):
    """A complete mobile-originated message (reassembled if it came in parts)."""

    id: str = Field("", description="the inbound stream entry id, once stored")
    channel: Channel = "sms"
    transport: Transport = "smpp"
    sender: str = Field(description="normalised msisdn, 98XXXXXXXXXX")
    recipient: str = Field(description="the shortcode or USSD code dialled")
    text: str
    received_at: float = Field(default_factory=time.time)
    # USSD only
    session_id: str = ""
    ussd_event: UssdEvent = ""
    session_info: str = Field("", description="its_session_info to echo, hex")


class OutboundMessage(BaseModel):
    """A mobile-terminated message waiting in the durable outbound queue."""

    id: str
    channel: Channel = "sms"
    transport: Transport = "smpp"
    sender: str
    recipient: str
    text: str
    kind: ReplyKind = "reply"
    sealed: bool = False  # `text` is sealed (gateway/sealing.py): codes and passwords
    in_reply_to: str = ""
    created_at: float = Field(default_factory=time.time)
    # USSD only: the screen ends the dialogue (PSSR response / "END") or waits (USSR / "CON")
    session_id: str = ""
    ussd_end: bool = False
    session_info: str = ""


_NO = object()
_DEFAULTS = {name: field.default for name, field in InboundMessage.model_fields.items()
             if not field.is_required() and field.default_factory is None}


def to_stream_fields(message: InboundMessage) -> dict[str, str]:
    """The inbound stream entry of `message`: every field but `id` (the entry's own id) and
    those left at their default, as strings."""
    fields = message.model_dump(exclude={"id"})
    fields["received_at"] = f"{message.received_at:.3f}"
    return {name: str(value) for name, value in fields.items() if _DEFAULTS.get(name, _NO) != value}


def to_part_stream_fields(message: InboundMessage, user_data: bytes, codec: str) -> dict[str, str]:
    """The stream entry of a message whose text is still octets (an SMPP MO, maybe one part of
    several): `user_data` (hex; store_mo.lua joins the parts' in order) and the `codec` that
    reads them, instead of `text`."""
    fields = to_stream_fields(message)
    del fields["text"]
    return {**fields, "user_data": user_data.hex(), "codec": codec}


def from_stream_entry(entry_id: str, fields: Mapping[str, str]) -> InboundMessage:
    """The message an inbound stream entry holds; its id is the entry id. Octets are decoded
    here, once the message is whole."""
    values: dict[str, object] = {**fields, "id": entry_id}
    if "user_data" in fields:
        octets = bytes.fromhex(str(values.pop("user_data")))
        values["text"] = decode_user_data(str(values.pop("codec", "latin-1")), octets)
    return InboundMessage.model_validate(values)


def field_pairs(fields: Mapping[str, str]) -> list[str]:
    """`[name, value, name, value, ...]`: how a Lua script receives a stream entry."""
    return [item for pair in fields.items() for item in pair]

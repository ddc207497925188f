"""The one message type that crosses the layers: transports make these, workers consume them.

`channel` is what the citizen uses (an SMS thread or a USSD screen); `transport` is how the
gateway reaches them (SMPP to the SMSC, or an HTTP aggregator waiting for its answer).
"""

from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel, Field

Channel = Literal["sms", "ussd"]
Transport = Literal["smpp", "http"]
ReplyKind = Literal["reply", "code", "password"]
# A USSD dialogue's events, whatever the operator's op codes (see smpp/ussd.py's dialects).
UssdEvent = Literal["", "begin", "continue", "abort", "timeout"]


class InboundMessage(BaseModel):
    """A complete mobile-originated message (reassembled if it came in parts)."""

    id: str = Field(description="transport-unique id, stable across redelivery")
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
    in_reply_to: str = ""
    created_at: float = Field(default_factory=time.time)
    # USSD only: the screen ends the dialogue (PSSR response / "END") or waits (USSR / "CON")
    session_id: str = ""
    ussd_end: bool = False
    session_info: str = ""

"""The one message type that crosses the layers: transports make these, workers consume them."""

from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel, Field

Channel = Literal["sms", "ussd"]
ReplyKind = Literal["reply", "code", "password"]


class InboundMessage(BaseModel):
    """A complete mobile-originated message (reassembled if it came in parts)."""

    id: str = Field(description="transport-unique id, stable across redelivery")
    channel: Channel = "sms"
    sender: str = Field(description="normalised msisdn, 98XXXXXXXXXX")
    recipient: str = Field(description="the shortcode or USSD code dialled")
    text: str
    received_at: float = Field(default_factory=time.time)


class OutboundMessage(BaseModel):
    """A mobile-terminated message waiting in the durable outbound queue."""

    id: str
    channel: Channel = "sms"
    sender: str
    recipient: str
    text: str
    kind: ReplyKind = "reply"
    in_reply_to: str = ""
    created_at: float = Field(default_factory=time.time)

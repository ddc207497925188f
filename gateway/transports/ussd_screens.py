"""USSD screens on their way out: over SMPP (one submit_sm with the dialect's op code and the
dialogue's its_session_info echoed) or to an HTTP aggregator's waiting request (a Redis list
per dialogue, keyed by a digest of its session id, popped by gateway/store/aggregator_bridge.py).

A screen is shown now or never: a few quick tries, and if the SMSC will not take it the
caller sends its text by SMS instead, so nothing the citizen needs is lost.
"""

from __future__ import annotations

import asyncio
import logging
import time

from redis.asyncio import Redis

from flows.normalize import mask_msisdn
from gateway.messages import OutboundMessage
from gateway.store.keys import Keys
from smpp import ussd
from smpp.client import SmppClient, SubmitFailed
from smpp.status import Outcome, classify
from smpp.submit import Addressing

log = logging.getLogger("gateway.transports.ussd_screens")

TRIES = 3
PAUSE_SECONDS = 0.1
HTTP_SCREEN_TTL_SECONDS = 60


class ScreenSender:
    def __init__(
        self, redis: Redis, keys: Keys, client: SmppClient, dialect: ussd.UssdDialect,
        answer_budget_seconds: float, *, destination_ton: int = 1, destination_npi: int = 1,
    ) -> None:
        self._answer_budget = answer_budget_seconds
        self._destination = destination_ton, destination_npi  # smpp.destination_ton/_npi
        self._redis = redis
        self._keys = keys
        self._client = client
        self._dialect = dialect

    async def show(self, message: OutboundMessage) -> bool:
        """True when the screen went out; False when its text must go by SMS instead."""
        if message.transport == "http":
            if time.time() - message.created_at > self._answer_budget:
                return False  # the aggregator was already told the answer comes by SMS
            await self._hand_to_aggregator(message)
            return True
        try:
            return await self._submit(message)
        except ValueError as exc:  # a screen that cannot be encoded: never a stuck partition
            log.error("USSD screen could not be built (%s); its text goes by SMS", exc)
            return False

    async def _hand_to_aggregator(self, message: OutboundMessage) -> None:
        key = self._keys.ussd_screen(message.session_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, message.model_dump_json())
            pipe.expire(key, HTTP_SCREEN_TTL_SECONDS)
            await pipe.execute()

    async def _submit(self, message: OutboundMessage) -> bool:
        screen = ussd.build_screen(
            message.text, message.recipient, Addressing(message.sender, 0, 0, *self._destination),
            self._dialect, end=message.ussd_end, session_info=bytes.fromhex(message.session_info),
        )
        for _ in range(TRIES):
            try:
                response = await self._client.submit(screen)
            except SubmitFailed:
                response = None
            outcome = Outcome.RETRY if response is None else classify(response.command_status)
            if outcome is Outcome.ACCEPTED:
                return True
            if outcome is Outcome.REJECTED:
                break
            await asyncio.sleep(PAUSE_SECONDS)
        log.warning("USSD screen for %s not taken by the SMSC; its text goes by SMS",
                    mask_msisdn(message.recipient))
        return False

"""MO intake: each deliver_sm is stored in Redis before the SMSC gets its deliver_sm_resp.

Parts of a concatenated MO (UDH or SAR) wait in a hash per sender+recipient+reference, with a
TTL, and the complete text is appended to the number's partition stream in the same Lua call.
When Redis cannot take the message the SMSC is told ESME_RX_T_APPN, so it retries later.
"""

from __future__ import annotations

import logging
import time
from importlib.resources import files

from aiosmpplib import DeliverSm, SmppCommandStatus
from redis.asyncio import Redis
from redis.exceptions import RedisError

from flows.normalize import mask_msisdn, parse_msisdn
from gateway.keys import Keys
from smpp import wire
from smpp.receipts import ReceiptCorrelator

log = logging.getLogger("gateway.inbound")


class MoIntake:
    def __init__(
        self, redis: Redis, keys: Keys, receipts: ReceiptCorrelator, parts_ttl_seconds: int
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._receipts = receipts
        self._parts_ttl = parts_ttl_seconds
        self._store = redis.register_script(
            files("gateway").joinpath("store_mo.lua").read_text(encoding="utf-8")
        )

    async def on_deliver(self, deliver: DeliverSm) -> SmppCommandStatus:
        try:
            if deliver.is_receipt():
                await self._receipts.on_receipt(deliver)
            else:
                await self._store_mo(deliver)
        except (RedisError, OSError) as exc:
            # redis-py lets some socket errors through unwrapped, hence OSError too.
            log.error("Redis unavailable, MO refused with ESME_RX_T_APPN: %s", type(exc).__name__)
            return SmppCommandStatus.ESME_RX_T_APPN
        return SmppCommandStatus.ESME_ROK

    async def _store_mo(self, deliver: DeliverSm) -> None:
        sender = parse_msisdn(deliver.source.number)
        recipient = deliver.destination.number
        if sender is None:
            log.warning("MO from a non-mobile sender ignored")
            return
        ref, part, total = wire.concatenation(deliver)
        partition = self._keys.partition_of(sender)
        keys = [self._keys.inbound(partition), self._keys.mo_parts(partition, sender, recipient, ref)]
        text = deliver.short_message or deliver.message_payload
        args = [sender, recipient, text, f"{time.time():.3f}", max(total, 1), part, self._parts_ttl, "sms"]
        complete = await self._store(keys=keys, args=args)
        log.info("MO from %s stored (%s)", mask_msisdn(sender),
                 "complete" if complete else f"part {part}/{total}")

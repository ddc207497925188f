"""Concatenated MO that never complete: their parts expire with their hash's TTL
(`smpp.mo_segment_timeout_seconds`); the sweeper of each partition counts them in the
partition's stats (`mo_parts_expired`) and logs how many, so a lost part is never silent."""

from __future__ import annotations

import logging
import time
from typing import Any, Final

from gateway.stopping import Stopping
from gateway.store.keys import Keys
from gateway.store.scripts import load_script
from gateway.store.streams import retrying, set_within

log = logging.getLogger("gateway.store.mo_parts")

BATCH: Final = 500


class PartsSweeper:
    def __init__(self, redis: Any, keys: Keys, interval_seconds: float) -> None:
        self._keys = keys
        self._interval = interval_seconds
        self._sweep = load_script(redis, "sweep_parts.lua")
        self.expired = 0

    async def run(self, partition: int, stopping: Stopping) -> None:
        while not await set_within(stopping, self._interval):
            await retrying(lambda: self.sweep(partition), stopping)

    async def sweep(self, partition: int, now: float | None = None) -> int:
        keys = [self._keys.mo_parts_pending(partition), self._keys.stats(partition)]
        dropped = int(await self._sweep(keys=keys, args=[now or time.time(), BATCH]))
        if dropped:
            self.expired += dropped
            log.warning("%d concatenated MO never completed; their parts expired (partition %d)",
                        dropped, partition)
        return dropped

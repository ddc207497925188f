"""The aggregator callbacks counted: an `AggregatorBridge` that counts what it stores.

It wraps the bridge the callbacks use (gateway/store/aggregator_bridge.py), so the callbacks
themselves know nothing of metrics: a stored input is ``hamta_mo_received_total{transport="http"}``,
an SMS id stored before is ``hamta_mo_refused_total{reason="duplicate"}``, and a bridge that
cannot store is ``{reason="store_unavailable"}`` (the aggregator is answered 503 and retries).
"""

from __future__ import annotations

from gateway.errors import StorageUnavailable
from gateway.messages import InboundMessage, OutboundMessage
from gateway.observability.metrics import GatewayMetrics
from gateway.transports.http_callbacks import AggregatorBridge


class CountingBridge:
    def __init__(self, bridge: AggregatorBridge, metrics: GatewayMetrics) -> None:
        self._bridge = bridge
        self._metrics = metrics

    async def store(self, message: InboundMessage) -> None:
        try:
            await self._bridge.store(message)
        except StorageUnavailable:
            self._metrics.mo_not_taken("store_unavailable")
            raise
        self._metrics.mo_stored(message.channel, "http")

    async def store_once(self, message: InboundMessage, dedupe_key: str) -> bool:
        try:
            stored = await self._bridge.store_once(message, dedupe_key)
        except StorageUnavailable:
            self._metrics.mo_not_taken("store_unavailable")
            raise
        if stored:
            self._metrics.mo_stored(message.channel, "http")
        else:
            self._metrics.mo_not_taken("duplicate")
        return stored

    async def await_screen(self, session_id: str, timeout: float) -> OutboundMessage | None:
        return await self._bridge.await_screen(session_id, timeout)

"""One turn seen by an operator: the INFO line and the metrics, after its commit.

    turn for 0936***0003: flow=restore step=ask_code outcome=restored replies=2 latency_ms=14
        channel=sms [message_id=1764751534123-0 number=0936***0003 partition=5]

The bracket is the message's log context, bound once when the worker takes the entry
(`message_context`), so every other line logged while the message is handled carries it too.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator

from flows.normalize import mask_msisdn
from flows.outcomes import TurnOutcome
from gateway.log_context import bound, current
from gateway.messages import InboundMessage
from gateway.observability.metrics import GatewayMetrics, stored_at

log = logging.getLogger("gateway.worker")


@contextlib.contextmanager
def message_context(entry_id: str, sender: str, partition: int | None = None) -> Iterator[None]:
    """The log context of one inbound entry while it is handled."""
    where = {} if partition is None else {"partition": partition}
    with bound(message_id=entry_id, number=mask_msisdn(sender), **where):
        yield


def observe_turn(
    metrics: GatewayMetrics, message: InboundMessage, outcome: TurnOutcome, replies: int,
    now: float | None = None,
) -> None:  # fmt: skip
    """Count a committed turn and log its line; latency from the MO stored to now (queued)."""
    now = time.time() if now is None else now
    seconds = max(now - stored_at(message.id, message.received_at), 0.0)
    metrics.turn(outcome, seconds)
    if not log.isEnabledFor(logging.INFO):
        return
    unbound = "message_id" not in current()  # a turn run outside `TurnWorker.run` (tests)
    with message_context(message.id, message.sender) if unbound else contextlib.nullcontext():
        log.info("turn for %s: flow=%s step=%s outcome=%s replies=%d latency_ms=%d channel=%s",
                 mask_msisdn(message.sender), outcome.flow, outcome.step, outcome.outcome, replies,
                 round(seconds * 1000), message.channel)

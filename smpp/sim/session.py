"""One ESME connection as the SMSC simulator sees it: its bind, and its unanswered requests.

Requests the simulator sends (deliver_sm) are matched to their responses by sequence number;
`collect` waits for a batch of them. Tasks spawned for the session (held submit_sm answers)
end with it.
"""

from __future__ import annotations

import asyncio
import itertools
import struct
from collections.abc import Coroutine
from typing import Any

from aiosmpplib import GenericNack, SmppCommand, SmppCommandStatus, SmppMessage

from smpp import wire


class Session:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.bind: SmppCommand | None = None
        self.system_id = ""
        self.open = True
        self.pending: dict[int, asyncio.Future[wire.Frame]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._sequence = itertools.count(1)

    async def next_frame(self) -> wire.Frame | None:
        """The next PDU; None at a clean end of stream, or after an absurd length (nacked)."""
        try:
            return await wire.read_pdu(self.reader)
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise
            return None
        except wire.PduFramingError as exc:
            await self.send(GenericNack(exc.sequence, SmppCommandStatus.ESME_RINVCMDLEN))
            return None

    async def send(self, message: SmppMessage) -> None:
        await self.send_bytes(message.pdu())

    async def send_bytes(self, pdu: bytes) -> None:
        self.writer.write(pdu)
        await self.writer.drain()

    async def push(self, message: SmppMessage) -> None:
        """Send a request with a fresh sequence number, not waiting for its response."""
        message.sequence_num = next(self._sequence)
        await self.send(message)

    async def request(self, pdu: bytes) -> asyncio.Future[wire.Frame]:
        """Send a request (its sequence number replaced); the future gets the response."""
        sequence = next(self._sequence)
        future: asyncio.Future[wire.Frame] = asyncio.get_running_loop().create_future()
        self.pending[sequence] = future
        try:
            await self.send_bytes(pdu[:12] + struct.pack("!I", sequence) + pdu[16:])
        except ConnectionError:
            del self.pending[sequence]
            raise
        return future

    def resolve(self, frame: wire.Frame) -> None:
        future = self.pending.pop(frame.sequence, None)
        if future is not None and not future.done():
            future.set_result(frame)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        """The connection is gone: waiters see their futures cancelled (`collect` says why)."""
        for future in self.pending.values():
            future.cancel()
        self.pending.clear()
        for task in self._tasks:
            task.cancel()
        self.writer.close()

    async def collect(
        self, futures: list[asyncio.Future[wire.Frame]], timeout: float
    ) -> list[wire.Frame]:
        """Every response; TimeoutError if one is missing, ConnectionError if the link broke."""
        _, missing = await asyncio.wait(futures, timeout=timeout)
        for future in missing:
            future.cancel()
        self.pending = {seq: f for seq, f in self.pending.items() if f not in futures}
        if missing:
            raise TimeoutError(f"{len(missing)} request(s) not answered within {timeout}s")
        if any(f.cancelled() for f in futures):
            raise ConnectionError("ESME connection closed before answering")
        return [f.result() for f in futures]


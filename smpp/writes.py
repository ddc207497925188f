"""PDUs written to a connection in one system call per event-loop tick.

Under load a bind writes many small PDUs in the same tick: the deliver_sm_resp of a batch of
MOs, the submit_sm of replies queued together. Written one by one, each is a send() system
call, which the profile of a loaded gateway shows as its largest single cost. `CoalescingWriter`
keeps what is written during a tick and hands it to the transport together when the loop next
gets to it; order is kept, and `close` writes what is pending first.
"""

from __future__ import annotations

import asyncio


class CoalescingWriter:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._pending: list[bytes] = []

    @property
    def transport(self) -> asyncio.WriteTransport:
        return self._writer.transport

    def write(self, data: bytes) -> None:
        if not self._pending:
            asyncio.get_running_loop().call_soon(self.flush)
        self._pending.append(data)

    def flush(self) -> None:
        if self._pending and not self._writer.is_closing():
            self._writer.write(b"".join(self._pending))
        self._pending.clear()

    async def drain(self) -> None:
        """Wait while the transport's buffer is over its high-water mark (what is pending goes
        out at the end of this tick, with whatever else is written in it)."""
        await self._writer.drain()

    def is_closing(self) -> bool:
        return self._writer.is_closing()

    def close(self) -> None:
        self.flush()
        self._writer.close()

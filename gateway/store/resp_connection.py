"""One pipelined connection to Redis, packed and parsed by hiredis: the transport under
`gateway.store.batching.BatchedRedis`.

redis-py's own pipeline spends, per command, a pool checkout, a health check, Python packing
and an `asyncio.timeout` per reply; in a loaded gateway that was a third of the process's CPU
(`hamta-gateway bench --profile`). Here a batch of commands is one `hiredis.pack_command` per
command and one write; the replies are parsed by one `hiredis.Reader` as the bytes arrive
(`data_received`) and handed to the batch that waits for them, in order. Batches are
pipelined: a second one is written while the first one's replies are on their way.

What redis-py does around a command stays redis-py's: building its arguments and reading its
reply into Python values (`BatchedRedis`), the error classes (`BaseParser.parse_error`: a
NOSCRIPT reply is a `NoScriptError`). Only plain TCP or a Unix socket, RESP2, and a password
(with or without a user name) are spoken here; a client configured otherwise (TLS, RESP3, a
credential provider) keeps redis-py's pipeline (`RespAddress.of` returns None).

A reply later than its batch's timeout closes the connection: every batch waiting on it fails
with `TimeoutError`, the next one connects again. A connection Redis closed fails its waiting
batches with `ConnectionError` (both retryable: `gateway.errors.is_retryable`).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import hiredis
from redis._parsers.base import BaseParser
from redis.asyncio.connection import Connection as TcpConnection
from redis.asyncio.connection import ConnectionPool, UnixDomainSocketConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.typing import EncodableT

Command = Sequence[EncodableT]


class ClosedByClient(RedisConnectionError):
    """The batch was waiting when its connection was closed on purpose: not to be sent again."""


@dataclass(frozen=True, slots=True)
class RespAddress:
    """Where and how to connect: what the client's pool was configured with."""

    host: str = "localhost"
    port: int = 6379
    path: str | None = None  # a Unix socket instead of host:port
    username: str | None = None
    password: str | None = None
    db: int = 0
    client_name: str | None = None
    decode_responses: bool = False
    encoding: str = "utf-8"
    encoding_errors: str = "strict"
    connect_timeout: float | None = None
    timeout: float | None = None  # for a reply, from when its batch was written

    @classmethod
    def of(cls, pool: ConnectionPool) -> RespAddress | None:
        """The pool's address, or None when its connections need what is not spoken here."""
        kwargs = pool.connection_kwargs
        if pool.connection_class not in (TcpConnection, UnixDomainSocketConnection):
            return None  # TLS or a connection class of its own
        if kwargs.get("credential_provider") is not None or kwargs.get("protocol") not in (None, 2, "2"):
            return None
        if not kwargs.get("legacy_responses", True):
            return None  # the client's replies take RESP3's shapes: read them with its own parser
        return cls(
            host=kwargs.get("host", "localhost"), port=int(kwargs.get("port", 6379)),
            path=kwargs.get("path") if pool.connection_class is UnixDomainSocketConnection else None,
            username=kwargs.get("username"), password=kwargs.get("password"),
            db=int(kwargs.get("db", 0) or 0), client_name=kwargs.get("client_name"),
            decode_responses=bool(kwargs.get("decode_responses", False)),
            encoding=kwargs.get("encoding", "utf-8"),
            encoding_errors=kwargs.get("encoding_errors", "strict"),
            connect_timeout=kwargs.get("socket_connect_timeout"),
            timeout=kwargs.get("socket_timeout"),
        )


class _Batch:
    __slots__ = ("deadline", "expected", "future", "replies")

    def __init__(self, expected: int, future: asyncio.Future[list[Any]], deadline: float | None) -> None:
        self.expected = expected
        self.future = future
        self.deadline = deadline
        self.replies: list[Any] = []


class _RespProtocol(asyncio.Protocol):
    def __init__(self, address: RespAddress) -> None:
        reader_options: dict[str, Any] = {"protocolError": InvalidResponse,
                                          "replyError": _parse_error}
        if address.decode_responses:
            reader_options |= {"encoding": address.encoding, "errors": address.encoding_errors}
        self._reader = hiredis.Reader(**reader_options)
        self.waiting: collections.deque[_Batch] = collections.deque()
        self.transport: asyncio.Transport | None = None
        self.lost: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        waiting = self.waiting
        while waiting:
            try:
                reply = self._reader.gets()
            except InvalidResponse as exc:  # the stream is out of step: nothing after can be read
                self.fail(RedisConnectionError(f"Protocol error from Redis: {exc}"))
                return
            if reply is False:
                return
            batch = waiting[0]
            batch.replies.append(reply)
            if len(batch.replies) == batch.expected:
                waiting.popleft()
                if not batch.future.done():  # its caller may have been cancelled
                    batch.future.set_result(batch.replies)

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(RedisConnectionError(f"Connection to Redis lost: {exc or 'closed by the server'}"))

    def fail(self, error: Exception) -> None:
        """Every waiting batch gets `error`; the connection is closed for good."""
        if self.lost is None:
            self.lost = error
        while self.waiting:
            batch = self.waiting.popleft()
            if not batch.future.done():
                batch.future.set_exception(error)
        if self.transport is not None:
            self.transport.abort()


def _parse_error(message: str) -> Exception:
    """An error reply as redis-py's class for it (NOSCRIPT: NoScriptError, …)."""
    return cast(Exception, BaseParser.parse_error(message))  # type: ignore[no-untyped-call]


class RespConnection:
    """Batches of commands, pipelined on one connection (see the module)."""

    def __init__(self, address: RespAddress) -> None:
        self._address = address
        self._protocol: _RespProtocol | None = None
        self._connecting: asyncio.Lock | None = None
        self._watchdog: asyncio.TimerHandle | None = None

    async def execute(self, commands: Sequence[Command], extra_timeout: float = 0.0) -> list[Any]:
        """Each command's reply, in order: a value, or the error Redis answered it with (as an
        exception instance, not raised). A lost connection raises for the whole batch."""
        protocol = await self._connected()
        return await self._send(protocol, commands, extra_timeout)

    def send(self, commands: Sequence[Command], extra_timeout: float = 0.0) -> asyncio.Future[list[Any]]:
        """`execute` as a future: written at once when connected (no task), else once connected.
        `extra_timeout`: seconds a blocking command may hold its reply beyond the timeout."""
        protocol = self._protocol
        if protocol is not None and protocol.lost is None:
            return self._send(protocol, commands, extra_timeout)
        return asyncio.ensure_future(self.execute(commands, extra_timeout))

    async def close(self) -> None:
        """Fails what waits on the connection (`ClosedByClient`); a later command connects again,
        as a redis-py client does after `aclose`."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._protocol is not None:
            self._protocol.fail(ClosedByClient("connection closed by the client"))
            self._protocol = None

    def _send(self, protocol: _RespProtocol, commands: Sequence[Command],
              extra_timeout: float) -> asyncio.Future[list[Any]]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Any]] = loop.create_future()
        if protocol.lost is not None or protocol.transport is None:
            future.set_exception(protocol.lost or RedisConnectionError("not connected"))
            return future
        timeout = self._address.timeout
        deadline = None if timeout is None else loop.time() + timeout + extra_timeout
        protocol.waiting.append(_Batch(len(commands), future, deadline))
        protocol.transport.write(b"".join([hiredis.pack_command(cast(Any, _split(command)))
                                           for command in commands]))
        if deadline is not None and self._watchdog is None:
            self._watchdog = loop.call_at(deadline, self._check_deadlines)
        return future

    def _check_deadlines(self) -> None:
        """A batch whose replies are overdue closes the connection (its replies could only be
        matched to later batches); otherwise look again when the oldest batch is due."""
        self._watchdog = None
        protocol = self._protocol
        if protocol is None or not protocol.waiting:
            return
        loop = asyncio.get_running_loop()
        due = protocol.waiting[0].deadline  # batches are answered in order: the oldest first
        if due is None:
            return
        if due <= loop.time():
            protocol.fail(RedisTimeoutError("Timeout reading from Redis"))
            self._protocol = None
            return
        self._watchdog = loop.call_at(due, self._check_deadlines)

    async def _connected(self) -> _RespProtocol:
        protocol = self._protocol
        if protocol is not None and protocol.lost is None:
            return protocol
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._protocol is None or self._protocol.lost is not None:
                self._protocol = await self._connect()
            return self._protocol

    async def _connect(self) -> _RespProtocol:
        loop = asyncio.get_running_loop()
        address = self._address
        protocol = _RespProtocol(address)
        try:
            if address.path is not None:
                opening = loop.create_unix_connection(lambda: protocol, address.path)
            else:
                opening = loop.create_connection(lambda: protocol, address.host, address.port)
            async with asyncio.timeout(address.connect_timeout):
                await opening
        except TimeoutError as exc:
            raise RedisTimeoutError("Timeout connecting to Redis") from exc
        except OSError as exc:
            raise RedisConnectionError(f"Error connecting to Redis: {exc}") from exc
        handshake: list[Command] = []
        if address.password is not None:
            handshake.append(("AUTH", address.username, address.password) if address.username
                             else ("AUTH", address.password))
        if address.db:
            handshake.append(("SELECT", address.db))
        if address.client_name:
            handshake.append(("CLIENT", "SETNAME", address.client_name))
        if handshake:
            replies = await self._send(protocol, handshake, 0.0)
            errors = [reply for reply in replies if isinstance(reply, Exception)]
            if errors:
                protocol.fail(errors[0])
                raise errors[0]
        return protocol


def _split(command: Command) -> tuple[EncodableT, ...]:
    """A command named in two words ("SCRIPT LOAD") goes as two arguments, as redis-py sends it;
    any other goes as it is (no copy)."""
    name = command[0]
    if isinstance(name, str) and " " in name:
        return (*name.split(), *command[1:])
    return command if type(command) is tuple else tuple(command)

"""A private ``redis-server`` process on a free localhost port, for the demo and the tests.

It never touches the system's Redis (port 6379): each instance runs in its own
directory, bound to 127.0.0.1, on a port picked by the kernel (or given).

    with RedisServer(tmp_dir) as server:
        client = redis.Redis.from_url(server.url)

Errors::

    RuntimeError
    └── RedisServerError            the server did not start (log tail in the message)
        └── RedisServerNotInstalled no redis-server on PATH
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
import weakref
from pathlib import Path
from types import TracebackType
from typing import Final, Self

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

HOST: Final = "127.0.0.1"
LOG_NAME: Final = "redis-server.log"
OUTPUT_NAME: Final = "redis-server.out"
INSTALL_HINT: Final = (
    "redis-server was not found on PATH: install it with `sudo apt-get install redis-server` "
    "(or put redis-server >= 6.2 on PATH), or run `make redis`"
)
_PORT_ATTEMPTS: Final = 3
_BACKOFF_START: Final = 0.005
_BACKOFF_MAX: Final = 0.1
_PING_TIMEOUT: Final = 0.5


class RedisServerError(RuntimeError):
    """The redis-server process did not start or died while starting. Not retryable."""


class RedisServerNotInstalled(RedisServerError):
    """No redis-server executable on PATH."""


def free_port(host: str = HOST) -> int:
    """A TCP port that was free a moment ago, chosen by the kernel."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()


def _tail(path: Path, lines: int = 20, prefix: str = "") -> str:
    """The last ``lines`` lines of ``path`` that start with ``prefix`` (a pid in the log)."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join([line for line in text.splitlines() if line.startswith(prefix)][-lines:])


class RedisServer:
    """One ``redis-server`` child process in ``directory`` on ``127.0.0.1:port``.

    With ``port=None`` a free port is picked at the first :meth:`start` and kept from
    then on (:meth:`restart`, or :meth:`stop` then :meth:`start`), so :attr:`url` stays
    valid. With ``appendonly`` the data survives :meth:`restart` and
    :meth:`kill` (AOF, fsync every second); RDB snapshots are off.
    """

    def __init__(
        self,
        directory: Path,
        *,
        port: int | None = None,
        appendonly: bool = True,
        start_timeout: float = 10.0,
        executable: str = "redis-server",
    ) -> None:
        self.directory = Path(directory)
        self.appendonly = appendonly
        self.start_timeout = start_timeout
        self.executable = executable
        self._port = port
        self._process: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[[subprocess.Popen[bytes]], RedisServer] | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RedisServerError("redis-server has no port yet: call start() first")
        return self._port

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def log_path(self) -> Path:
        return self.directory / LOG_NAME

    def start(self) -> None:
        """Spawn redis-server and return once it answers PING; raise RedisServerError if not."""
        if self.running:
            raise RedisServerError(f"redis-server already running on port {self.port}")
        self._reap()  # a process that died on its own since
        binary = shutil.which(self.executable)
        if binary is None:
            raise RedisServerNotInstalled(INSTALL_HINT)
        self.directory.mkdir(parents=True, exist_ok=True)
        picked_here = self._port is None
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            if self._port is None:
                self._port = free_port()
            self._spawn(binary)
            try:
                self._wait_ready()
                return
            except RedisServerError:
                self._reap()
                if not picked_here or attempt == _PORT_ATTEMPTS or not self._port_was_taken():
                    raise
                self._port = None  # lost the race for a free port: pick another

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM and wait (the AOF is flushed on a clean shutdown); SIGKILL after timeout."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()  # did not shut down in time
        self._reap()

    def kill(self) -> None:
        """SIGKILL, as a crash would: for fault-injection tests. Up to 1 s of writes may be lost."""
        self._reap()

    def restart(self) -> None:
        """Stop (if running) and start again on the same port and directory."""
        self.stop()
        self.start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"RedisServer({str(self.directory)!r}, port={self._port}, {state})"

    def _arguments(self, binary: str) -> list[str]:
        arguments = [
            binary,
            "--port", str(self.port),
            "--bind", HOST,
            "--dir", str(self.directory.resolve()),
            "--logfile", str(self.log_path.resolve()),
            "--save", "",
            "--daemonize", "no",
        ]  # fmt: skip
        if self.appendonly:
            arguments += ["--appendonly", "yes", "--appendfsync", "everysec"]
        else:
            arguments += ["--appendonly", "no"]
        return arguments

    def _spawn(self, binary: str) -> None:
        with (self.directory / OUTPUT_NAME).open("ab") as output:
            self._process = subprocess.Popen(
                self._arguments(binary),
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        # Never leave an orphan behind: killed when this object is collected or at exit.
        self._finalizer = weakref.finalize(self, _terminate, self._process)

    def _wait_ready(self) -> None:
        """Block until our own process answers PING; redis-server has no other readiness signal."""
        deadline = time.monotonic() + self.start_timeout
        delay = _BACKOFF_START
        client = redis.Redis(
            host=HOST,
            port=self.port,
            socket_timeout=_PING_TIMEOUT,
            socket_connect_timeout=_PING_TIMEOUT,
            retry=Retry(NoBackoff(), 0),  # this loop is the retry
        )
        try:
            while True:
                if self._process is None or self._process.poll() is not None:
                    raise self._failure("exited while starting")
                if self._answers(client):
                    return
                if time.monotonic() >= deadline:
                    raise self._failure(f"did not answer PING within {self.start_timeout:g} s")
                time.sleep(delay)
                delay = min(delay * 2, _BACKOFF_MAX)
        finally:
            client.close()

    def _answers(self, client: redis.Redis) -> bool:
        """PING answered by the process we spawned (not a stranger that holds the port)."""
        try:
            client.ping()
            info = client.info("server")
        except redis.RedisError:
            return False
        return self._process is not None and info.get("process_id") == self._process.pid

    def _failure(self, what: str) -> RedisServerError:
        code = self._process.poll() if self._process else None
        status = f" (exit code {code})" if code is not None else ""
        own_lines = f"{self._process.pid}:" if self._process else ""
        log = _tail(self.log_path, prefix=own_lines) + "\n" + _tail(self.directory / OUTPUT_NAME)
        return RedisServerError(
            f"redis-server on {HOST}:{self._port} in {self.directory} {what}{status}; "
            f"log tail:\n{log.strip()}"
        )

    def _port_was_taken(self) -> bool:
        return "Address already in use" in _tail(self.log_path, lines=5)

    def _reap(self) -> None:
        if self._process is None:
            return
        if self._finalizer is not None:
            self._finalizer.detach()
        _terminate(self._process)
        self._process = None

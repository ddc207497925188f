"""`demo` and `phone` never touch a configured Redis (issue 10, part 1).

The session redis-server plays a production Redis holding a registry (a marker record). `demo`
must ignore HAMTA_REDIS__URL and start its own; `--redis-url` names a Redis explicitly and is
refused when it is not empty, unless `--force`; `phone` only runs a simulator. Each check reads
the Redis server's own connection counter too: nothing connected at all, not merely nothing written.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import redis

from devtools.demo import DEMO_SCRIPT
from devtools.redis_server import free_port
from gateway.store.keys import Keys

KEYS = Keys()
MARKER_SIM = KEYS.sim("989000000001")
MARKER = {"owner": "0000000001", "status": "active"}
RESTORED = "به کارتابل همین سیم‌کارت منتقل شد"


@pytest.fixture
def production(redis_url: str) -> Iterator[redis.Redis]:
    """The session Redis with a marker registry: one SIM record and its index entry."""
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        client.hset(MARKER_SIM, mapping=MARKER)
        client.sadd(KEYS.registry_index("sims"), "989000000001")
        yield client


def connections(client: redis.Redis) -> int:
    """Connections the server accepted so far (this client's own one is already counted)."""
    return int(client.info("stats")["total_connections_received"])


def untouched(client: redis.Redis) -> bool:
    return (client.hgetall(MARKER_SIM) == MARKER
            and client.smembers(KEYS.registry_index("sims")) == {"989000000001"}
            and client.dbsize() == 2)


def hamta(*args: str, env: dict[str, str], stdin: str | None = None,
          timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway", *args], capture_output=True, text=True,
                          env=env, input=stdin, timeout=timeout)


def clean_env(**hamta_env: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAMTA_")}
    return env | hamta_env


def test_demo_ignores_hamta_redis_url(production: redis.Redis, redis_url: str) -> None:
    before = connections(production)
    result = hamta("demo", "--script", str(DEMO_SCRIPT), env=clean_env(HAMTA_REDIS__URL=redis_url))
    assert result.returncode == 0, result.stderr
    assert RESTORED in result.stdout  # the demo ran, on its own Redis
    assert untouched(production)
    assert connections(production) == before  # never even connected


def test_demo_refuses_a_redis_url_holding_a_registry(production: redis.Redis, redis_url: str) -> None:
    before = connections(production)
    result = hamta("demo", "--redis-url", redis_url, "--script", str(DEMO_SCRIPT), env=clean_env())
    assert result.returncode == 2, result.stderr
    assert "demo refused, nothing changed" in result.stderr and "--force" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert untouched(production)
    assert connections(production) == before + 1  # the check's one connection, nothing else


def test_demo_refuses_a_redis_url_with_other_keys_under_the_prefix(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        client.set(KEYS.lease(3), "a-running-gateway")  # no registry, but a gateway's data
        result = hamta("demo", "--redis-url", redis_url, "--script", str(DEMO_SCRIPT),
                       env=clean_env())
        assert result.returncode == 2, result.stderr
        assert "keys under 'hamta'" in result.stderr
        assert client.keys("*") == [KEYS.lease(3)]


def test_demo_uses_an_empty_redis_url(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        client.set("other-app:key", "kept")  # not under the prefix: not the demo's business
        result = hamta("demo", "--redis-url", redis_url, "--script", str(DEMO_SCRIPT),
                       env=clean_env())
        assert result.returncode == 0, result.stderr
        assert RESTORED in result.stdout
        assert client.get("other-app:key") == "kept"
        assert client.scard(KEYS.registry_index("devices")) > 0  # the demo registry is in it


def test_demo_force_uses_a_non_empty_redis_url(production: redis.Redis, redis_url: str) -> None:
    result = hamta("demo", "--redis-url", redis_url, "--force", "--script", str(DEMO_SCRIPT),
                   env=clean_env())
    assert result.returncode == 0, result.stderr
    assert RESTORED in result.stdout
    assert not production.exists(MARKER_SIM)  # replaced by the demo registry, as asked


def test_force_without_redis_url_is_a_usage_error() -> None:
    result = hamta("demo", "--force", "--script", str(DEMO_SCRIPT), env=clean_env())
    assert result.returncode == 2 and "--force needs --redis-url" in result.stderr


@pytest.mark.parametrize("mode", [[], ["--ussd"]], ids=["sms", "ussd"])
def test_phone_never_opens_redis(production: redis.Redis, redis_url: str, mode: list[str]) -> None:
    before = connections(production)
    env = clean_env(HAMTA_REDIS__URL=redis_url, HAMTA_SMPP__PASSWORD="secret",
                    HAMTA_SMPP__HOST="127.0.0.1", HAMTA_SMPP__PORT=str(free_port()))
    # No gateway binds: typed lines go to the simulator (no reply), commands are answered.
    result = hamta("phone", *mode, env=env, stdin="/help\n/as 09351110002\n/quit\n", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "SMSC simulator on 127.0.0.1" in result.stdout and "as 09351110002" in result.stdout
    assert untouched(production)
    assert connections(production) == before

"""RedisServer: a real private redis-server, started, killed, restarted."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import redis

from devtools.redis_server import RedisServer, RedisServerError, RedisServerNotInstalled


def test_start_stop_and_url(tmp_path: Path) -> None:
    with RedisServer(tmp_path) as server:
        assert server.running
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        assert server.port != 6379
        with redis.Redis.from_url(server.url) as client:
            assert client.ping()
            assert client.config_get("bind")["bind"] == "127.0.0.1"
            assert client.config_get("save")["save"] == ""
            assert client.config_get("appendonly")["appendonly"] == "yes"
            assert client.config_get("appendfsync")["appendfsync"] == "everysec"
    assert not server.running
    assert (tmp_path / "redis-server.log").exists()


def test_data_survives_kill_and_restart_on_same_port(tmp_path: Path) -> None:
    with RedisServer(tmp_path) as server:
        port = server.port
        with redis.Redis.from_url(server.url) as client:
            client.set("k", "v")
            client.execute_command("BGREWRITEAOF")  # make the write durable before the kill
        old_pid = server.pid
        server.stop()
        server.start()
        assert server.port == port
        assert server.pid != old_pid
        with redis.Redis.from_url(server.url) as client:
            assert client.get("k") == b"v"
        server.kill()
        assert not server.running
        server.restart()
        assert server.port == port
        with redis.Redis.from_url(server.url) as client:
            assert client.get("k") == b"v"


def test_without_appendonly(tmp_path: Path) -> None:
    with RedisServer(tmp_path, appendonly=False) as server:
        with redis.Redis.from_url(server.url) as client:
            client.set("k", "v")
        server.restart()
        with redis.Redis.from_url(server.url) as client:
            assert client.get("k") is None


def test_port_taken_by_a_stranger_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(RedisServerError, match="exited while starting") as info:
            RedisServer(tmp_path, port=port, start_timeout=5).start()
    assert "log tail" in str(info.value)


def test_missing_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RedisServerNotInstalled, match="apt-get install redis-server"):
        RedisServer(tmp_path).start()


def test_url_before_start(tmp_path: Path) -> None:
    with pytest.raises(RedisServerError, match="start"):
        _ = RedisServer(tmp_path).url


def test_start_twice_is_an_error(tmp_path: Path) -> None:
    with RedisServer(tmp_path) as server, pytest.raises(RedisServerError, match="already running"):
        server.start()


def test_fixtures_flush_between_tests_1(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url) as client:
        assert client.dbsize() == 0
        client.set("left-behind", "1")


def test_fixtures_flush_between_tests_2(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url) as client:
        assert client.dbsize() == 0
        client.set("left-behind", "1")


def test_fixture_survives_a_killed_session_server(redis_server: RedisServer, redis_url: str) -> None:
    redis_server.kill()


def test_fixture_after_kill(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url) as client:
        assert client.ping()


async def test_async_client(redis_client: redis.asyncio.Redis) -> None:
    await redis_client.set("a", "é")
    assert await redis_client.get("a") == "é"

"""Nothing in Redis, nor in its AOF, gives a confirmation code or a new password: every key of
every type and every AOF file is read after a password dialog reached its code step, and again
after it finished (its SMS sent), and neither appears, nor the secret that derives them."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import redis.asyncio

from devtools.redis_server import RedisServer
from gateway.store.keys import Keys
from tests.harness import LOST_SIM_ID, LOST_SIM_NEW, TEST_SECRET_KEY, running_gateway
from tests.redis_events import emptied, keyspace

KEYS = Keys()
CODE = re.compile(r"\b[1-9][0-9]{5}\b")
PASSWORD = re.compile(r"[A-HJ-NP-Za-km-z2-9]{10}")


async def everything(db: redis.asyncio.Redis, directory: Path) -> str:
    """Every value of every key, and every AOF file, as one text."""
    seen: list[str] = []
    async for key in db.scan_iter(count=1000):
        kind = await db.type(key)
        reads = {"string": db.get, "hash": db.hgetall, "set": db.smembers, "list":
                 lambda k: db.lrange(k, 0, -1), "zset": lambda k: db.zrange(k, 0, -1),
                 "stream": db.xrange}
        seen += [key, repr(await reads[kind](key))]
    return "\n".join([*seen, await asyncio.to_thread(_aof, directory)])


def _where(code: str, text: str) -> str:
    """Where the code stands in the text as a number of its own ("" if nowhere): a code's six
    digits also turn up, by chance, inside longer numbers (stream ids, times, fractions)."""
    found = re.search(rf"(?<![0-9.]){code}(?![0-9])", text)
    return "" if found is None else text[max(found.start() - 80, 0) : found.end() + 80]


def _aof(directory: Path) -> str:
    return "\n".join(path.read_bytes().decode("utf-8", "replace") for path in directory.rglob("*.aof"))


async def test_no_code_no_password_no_secret_at_rest(
    redis_url: str, redis_client: redis.asyncio.Redis, redis_server: RedisServer
) -> None:
    async with running_gateway(redis_url) as (_gateway, sim):
        for text in ("2", LOST_SIM_ID, "1368/02/20"):
            await sim.send_mo(LOST_SIM_NEW, "7777", text)
            reply = await sim.await_mt(LOST_SIM_NEW, timeout=10)
        found = CODE.search(reply.text)
        assert found is not None, reply.text
        code = found.group()
        at_code_step = await everything(redis_client, redis_server.directory)
        assert _where(code, at_code_step) == "" and TEST_SECRET_KEY not in at_code_step
        outbound = KEYS.outbound(KEYS.partition_of(LOST_SIM_NEW))
        async with keyspace(redis_client, outbound, "xdel") as sent:
            await sim.send_mo(LOST_SIM_NEW, "7777", code)
            done, sms = [await sim.await_mt(LOST_SIM_NEW, timeout=10) for _ in range(2)]
            await sent.until(emptied(redis_client, outbound))
        passwords = PASSWORD.findall(sms.text)
        assert passwords, (done.text, sms.text)
        finished = await everything(redis_client, redis_server.directory)
        assert done.text in finished  # the scan does see what replies the queue and the AOF held
        assert _where(code, finished) == "" and TEST_SECRET_KEY not in finished
        assert not any(password in finished for password in passwords)

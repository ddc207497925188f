"""Issue 11, `hamta-gateway admin …` and `audit …` as an operator runs them: real processes on a
real Redis, no gateway running; JSON by default, tables on request, every action audited."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import redis.asyncio

from gateway.messages import OutboundMessage
from gateway.sealing import Sealer
from gateway.store.dead_letters import DeadLetters
from tests.harness import SARA_NEW, TEST_SECRET_KEY
from tests.processes import ROOT
from tests.redis_events import KEYS


def cli(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAMTA_")}
    env |= {"HAMTA_REDIS__URL": redis_url, "HAMTA_SERVICE__SECRET_KEY": TEST_SECRET_KEY,
            "HAMTA_CONFIG": str(ROOT / "config.yaml")}
    return subprocess.run([sys.executable, "-m", "gateway", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def ok(redis_url: str, *args: str) -> Any:
    result = cli(redis_url, *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if "table" not in args else result.stdout


async def test_subscriber_shown_masked_and_reset_by_the_cli_and_audited(
    redis_url: str, db: redis.asyncio.Redis
) -> None:
    now = time.time()
    session = {"session": {"flow": "password", "state": "ask_birth_date", "started_at": now - 30,
                           "last_seen": now - 5, "national_id": "1583250689"}}
    await db.set(KEYS.session(SARA_NEW), json.dumps(session), ex=600)
    await db.set(KEYS.subscriber(SARA_NEW), json.dumps(
        {"msisdn": SARA_NEW, "lang": "en", "strikes": [now] * 5, "locked_until": now + 600}), ex=3600)

    state = ok(redis_url, "admin", "subscriber", "0936 111 0003")
    assert state["msisdn"] == "0936***0003" and state["language"] == "en"
    assert (state["session"]["flow"], state["session"]["step"]) == ("password", "ask_birth_date")
    assert state["session"]["collected"] == {"national_id": "15***89"}
    assert state["lockout"]["locked"] is True
    table = ok(redis_url, "admin", "subscriber", SARA_NEW, "--format", "table")
    assert "session.step" in table and "ask_birth_date" in table and "1583250689" not in table

    assert ok(redis_url, "admin", "reset-lockout", "+989361110003") == {"ok": True}
    assert ok(redis_url, "admin", "reset-session", "09361110003") == {"ok": True}
    state = ok(redis_url, "admin", "subscriber", SARA_NEW)
    assert (state["session"], state["lockout"]["locked"], state["language"]) == (None, False, "en")

    records = ok(redis_url, "audit", "--msisdn", "09361110003")["records"]
    assert [(r["action"], r["via"], r["target"]) for r in records] == [
        ("admin_reset_session", "cli", "0936***0003"), ("admin_reset_lockout", "cli", "0936***0003")]
    by_time = ok(redis_url, "audit", "--since", "2020-01-01", "--limit", "5")["records"]
    assert [r["action"] for r in by_time] == ["admin_reset_session", "admin_reset_lockout",
                                              "registry_load"]
    assert ok(redis_url, "audit", "--until", "2020-01-01")["records"] == []


async def test_dead_letters_queues_and_partitions_from_the_cli(
    redis_url: str, db: redis.asyncio.Redis
) -> None:
    letters = DeadLetters(KEYS, sealer=Sealer(TEST_SECRET_KEY.encode()))
    reply = OutboundMessage(id="1-0/0", sender="7777", recipient=SARA_NEW, text="menu")
    async with db.pipeline(transaction=False) as pipe:
        for _ in range(3):
            letters.stage_outbound(pipe, reply, "ESME_RINVDSTADR")
        await pipe.execute()
    listed = ok(redis_url, "admin", "dead-letters")["dead_letters"]
    assert [(d["recipient"], d["replayable"]) for d in listed] == [("0936***0003", True)] * 3
    assert SARA_NEW not in json.dumps(listed)

    replayed = ok(redis_url, "admin", "dead-letters", "replay", listed[0]["id"])
    assert (replayed["queued_on"], replayed["number"]) == ("outbound", "0936***0003")
    outbound = KEYS.outbound(KEYS.partition_of(SARA_NEW))
    [(_, fields)] = await db.xrange(outbound)
    assert (fields["recipient"], OutboundMessage.model_validate_json(fields["message"]).text) == (
        SARA_NEW, "menu")
    assert ok(redis_url, "admin", "dead-letters", "purge", listed[1]["id"]) == {"ok": True, "purged": 1}
    assert ok(redis_url, "admin", "dead-letters", "purge") == {"ok": True, "purged": 1}

    queues = ok(redis_url, "admin", "queues")
    assert queues["totals"] == {"inbound": 0, "outbound": 1, "dead_letters": 0}
    table = ok(redis_url, "admin", "queues", "--format", "table")
    assert table.splitlines()[0].split()[:2] == ["field", "value"]
    assert len([line for line in table.splitlines() if line.split()[:1] == ["15"]]) == 1
    partitions = ok(redis_url, "admin", "partitions")
    assert (partitions["members"], partitions["standby"], partitions["unheld"]) == ([], [], list(range(16)))

    actions = [r["action"] for r in ok(redis_url, "audit")["records"]]
    assert actions[:3] == ["admin_dead_letters_purge", "admin_dead_letters_purge",
                           "admin_dead_letter_replay"]


async def test_bad_arguments_exit_2_and_unknown_ids_exit_1(redis_url: str, db: redis.asyncio.Redis) -> None:
    for args, code, said in (
        (("admin", "subscriber", "12345"), 2, "not a mobile number"),
        (("audit", "--imei", "1234"), 2, "imei: 15 digits"),
        (("audit", "--since", "last week"), 2, "since: ISO-8601"),
        (("admin", "dead-letters", "replay"), 2, "takes one ID"),
        (("admin", "dead-letters", "replay", "1-0"), 1, "no dead letter 1-0"),
    ):
        result = cli(redis_url, *args)
        assert (result.returncode, result.stdout) == (code, ""), (args, result.stderr)
        assert said in result.stderr and "Traceback" not in result.stderr

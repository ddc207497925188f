"""The gateway on a real Redis Cluster: three masters started here, the restore dialog through it.

Every key of one number (its streams, its state, its partition's lease) carries the
partition's hash tag, and the registry the `{reg}` tag, so each Lua script and each
transaction stays in one slot; the partitions spread over the masters.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
import redis
from aiosmpplib import SmppCommand
from redis.asyncio.cluster import RedisCluster

from devtools.redis_server import HOST, RedisServer, free_port
from flows.catalog import default_catalog
from gateway.app import connect_redis
from gateway.store.fixtures import parse_fixture
from gateway.store.keys import Keys
from gateway.store.registry import RedisRegistry
from smpp.sim import SmscSimulator
from tests.harness import SARA_DEVICE, SARA_NEW, demo_registry, gateway_settings
from tests.integration.test_registry import SPEC_EXAMPLE
from tests.processes import ROOT, Citizen, Gateways

pytestmark = pytest.mark.slow
KEYS = Keys()
CATALOG = default_catalog()


class ClusterNode(RedisServer):
    """A redis-server in cluster mode; its cluster bus gets a free port of its own, because
    the default (port + 10000) may be taken or past 65535."""

    def _arguments(self, binary: str) -> list[str]:
        return [*super()._arguments(binary), "--cluster-enabled", "yes",
                "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
                "--cluster-port", str(free_port())]


class LocalCluster:
    """`masters` cluster nodes on free ports, joined by `redis-cli --cluster create`."""

    def __init__(self, directory: Path, masters: int = 3) -> None:
        self.nodes = [ClusterNode(directory / f"node{n}") for n in range(masters)]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def start(self, timeout: float = 20.0) -> None:
        cli = shutil.which("redis-cli")
        if cli is None:
            raise RuntimeError("redis-cli not found: sudo apt-get install redis-tools")
        for node in self.nodes:
            node.start()
        addresses = [f"{HOST}:{node.port}" for node in self.nodes]
        subprocess.run([cli, "--cluster", "create", *addresses, "--cluster-replicas", "0",
                        "--cluster-yes"], check=True, capture_output=True, timeout=timeout)
        self._wait_ok(timeout)

    def _wait_ok(self, timeout: float) -> None:
        """Until every node says cluster_state:ok (redis-server has no other signal for it)."""
        deadline, delay = time.monotonic() + timeout, 0.01
        clients = [redis.Redis(host=HOST, port=node.port, decode_responses=True)
                   for node in self.nodes]
        try:
            while not all(client.cluster("info")["cluster_state"] == "ok" for client in clients):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"cluster not ok within {timeout}s")
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
        finally:
            for client in clients:
                client.close()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    local = LocalCluster(tmp_path_factory.mktemp("cluster"))
    try:
        local.start()
        yield local
    finally:
        local.stop()


@pytest.fixture
async def cluster_db(cluster: LocalCluster) -> AsyncIterator[RedisCluster]:
    client = RedisCluster.from_url(cluster.url, decode_responses=True)
    await client.flushall()
    await demo_registry(client)  # type: ignore[arg-type]
    try:
        yield client
    finally:
        await client.aclose()


async def test_restore_dialog_through_a_redis_cluster(
    cluster: LocalCluster, cluster_db: RedisCluster
) -> None:
    partition = KEYS.partition_of(SARA_NEW)
    one_slot = {KEYS.subscriber(SARA_NEW), KEYS.session(SARA_NEW), KEYS.inbound(partition),
                *KEYS.outbound_lanes(partition), KEYS.lease(partition)}
    assert len({cluster_db.keyslot(key) for key in one_slot}) == 1
    spread = {cluster_db.get_node_from_key(KEYS.inbound(p)).name for p in range(KEYS.partitions)}
    assert len(spread) == 3  # the partitions live on every master

    gateways = Gateways(cluster.url)
    try:
        async with SmscSimulator() as sim:
            gateway = await gateways.start(sim.port, redis__cluster=True)
            await sim.wait_bound(timeout=10)
            await gateway.wait_log("took partition", 16)
            sara = Citizen(sim, SARA_NEW)
            assert await sara.text("سلام") == CATALOG.render("fa", "menu")
            # The HTTP aggregator's SMS callback stores into the same partition stream.
            inbound = {"from": "09361110003", "to": "7777", "text": "3", "id": "agg-1"}
            async with aiohttp.ClientSession() as http:
                url = f"http://127.0.0.1:{await gateway.http_port()}/sms/inbound"
                async with http.post(url, json=inbound) as response:
                    assert (await response.json())["status"] == "accepted"
            assert await sara.reply() == CATALOG.render("fa", "help")
            assert await sara.text("1") == CATALOG.render("fa", "ask_imei")
            assert await sara.text(SARA_DEVICE) == CATALOG.render("fa", "ask_old_number")
            assert (await sara.text("09351110002")).startswith("کد تأیید همتا: ")
            restored = CATALOG.render("fa", "restored_to_sim", imei_tail="7518")
            assert await sara.text("{code}") == restored
            assert (await gateway.get("/readyz"))[0] == 200
            gateway.terminate()  # the graceful stop (flush, hand-back, unbind) on a cluster too
            assert await gateway.wait_exit() == 0
            assert sim.received[SmppCommand.UNBIND] == 1
            assert gateway.count(r" (WARNING|ERROR) ") == 0, gateway.log()  # receipts included
    finally:
        await gateways.close()
    assert await cluster_db.hget(KEYS.device(SARA_DEVICE), "sim") == SARA_NEW
    actions = [fields["action"] for _id, fields in await cluster_db.xrange(KEYS.audit())]
    assert actions == ["registry_load", "restore_device"]


async def test_registry_load_replaces_the_registry_in_a_cluster(cluster_db: RedisCluster) -> None:
    registry = RedisRegistry(cluster_db, KEYS)  # type: ignore[arg-type]
    assert await registry.show("imei", "353322110000339") is not None  # a demo-only device
    await registry.load(parse_fixture(SPEC_EXAMPLE))  # one transaction, all in the {reg} slot
    assert await registry.show("imei", "353322110000339") is None
    assert await registry.show("imei", SARA_DEVICE) is not None


async def test_the_cluster_setting_picks_the_cluster_client() -> None:
    settings = gateway_settings("redis://127.0.0.1:7000/0", 2775, redis={"cluster": True})
    client = connect_redis(settings)
    try:
        assert isinstance(client, RedisCluster)  # it connects lazily, at the first command
    finally:
        await client.aclose()
    assert not gateway_settings("redis://127.0.0.1:7000/0", 2775).redis.cluster  # the default


async def test_the_admin_commands_work_on_a_cluster(cluster: LocalCluster, cluster_db: RedisCluster) -> None:
    """Issue 11: the reset's WATCH transaction stays in one partition slot, the audit record and
    its index in the {reg} slot, the queue and partition views span every master."""
    now = time.time()
    await cluster_db.set(KEYS.subscriber(SARA_NEW), json.dumps(
        {"msisdn": SARA_NEW, "strikes": [now] * 5, "locked_until": now + 600}), ex=3600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAMTA_")}
    env |= {"HAMTA_REDIS__URL": cluster.url, "HAMTA_REDIS__CLUSTER": "true",
            "HAMTA_CONFIG": str(ROOT / "config.yaml")}

    def admin(*args: str) -> object:
        result = subprocess.run([sys.executable, "-m", "gateway", *args], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    assert admin("admin", "reset-lockout", SARA_NEW) == {"ok": True}
    state = admin("admin", "subscriber", SARA_NEW)
    assert state["lockout"]["locked"] is False  # type: ignore[index]
    records = admin("audit", "--msisdn", SARA_NEW)["records"]  # type: ignore[index]
    assert [r["action"] for r in records] == ["admin_reset_lockout"]
    assert len(admin("admin", "queues")["partitions"]) == 16  # type: ignore[index]
    assert admin("admin", "partitions")["unheld"] == list(range(16))  # type: ignore[index]

"""No enumeration, end to end: the mismatch attempts of tests/unit/test_enumeration.py over SMPP
through a real gateway (redis-server, the simulator over TCP) read alike, MT for MT."""

from __future__ import annotations

from flows.catalog import default_catalog
from tests.harness import Sections, running_gateway
from tests.processes import Citizen
from tests.unit.test_enumeration import REQUESTER, RESTORE_ATTEMPTS

FA = default_catalog()


async def test_restore_mismatches_read_alike_over_smpp(redis_url: str, registry_backend: Sections) -> None:
    async with running_gateway(redis_url, **registry_backend) as (_gateway, sim):
        citizen = Citizen(sim, REQUESTER)
        transcripts: dict[str, list[str]] = {}
        for name, (imei, old_number) in RESTORE_ATTEMPTS.items():
            start = len(citizen.received())
            for text in ("1", imei, old_number):
                await citizen.text(text)
            # The cancel's reply comes after every reply of the turns before it (one number's
            # turns are processed in order): then the attempt's MTs are all in.
            assert await citizen.text("لغو") == FA.render("fa", "cancelled")
            transcripts[name] = citizen.received()[start:]
    first_name, first = next(iter(transcripts.items()))
    assert len(first) == 4 and first[2].startswith(FA.render("fa", "mismatch", left=2)[:20])
    for name, transcript in transcripts.items():
        assert transcript == first, f"{name!r} differs from {first_name!r}"

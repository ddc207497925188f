"""The simulator's MT inbox: each MT taken once, by its destination or by anyone, in arrival
order; nothing held once taken (the bench's router takes 100,000s of MTs from it)."""

from __future__ import annotations

import asyncio

from smpp.sim.inbox import MtInbox
from smpp.sim.pdus import MtMessage


def mt(destination: str, text: str) -> MtMessage:
    return MtMessage("7777", destination, text, 8, 1, ["id"], 1, 0)


def held(inbox: MtInbox) -> int:
    """Entries the inbox still keeps, in any of its queues or marks."""
    return sum(len(queue) for queue in inbox._by_destination.values()) + len(inbox._returned)


async def take_all(inbox: MtInbox, destination: str | None, count: int) -> list[str]:
    return [(await inbox.take(destination, timeout=1)).text for _ in range(count)]


async def test_taking_from_everyone_holds_nothing_afterwards() -> None:
    inbox = MtInbox()
    for i in range(1000):
        inbox.put(mt(f"9891200{i:05d}", f"m{i}"))
    assert await take_all(inbox, None, 1000) == [f"m{i}" for i in range(1000)]
    assert held(inbox) == 0 and not inbox._arrived  # no event made for a number nobody awaited


async def test_by_destination_and_by_anyone_each_mt_once_in_order() -> None:
    inbox = MtInbox()
    for text, number in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b")]:
        inbox.put(mt(number, text))
    assert await take_all(inbox, "b", 1) == ["b1"]
    assert await take_all(inbox, None, 2) == ["a1", "a2"]
    assert await take_all(inbox, "b", 1) == ["b2"]
    assert held(inbox) == 0
    inbox.put(mt("a", "a3"))
    assert await take_all(inbox, None, 1) == ["a3"]
    assert held(inbox) == 0


async def test_a_waiter_for_its_number_wakes_on_its_mt() -> None:
    inbox = MtInbox()
    waiting = asyncio.ensure_future(inbox.take("c", timeout=1))
    await asyncio.sleep(0)  # it is waiting now
    inbox.put(mt("d", "not for c"))
    inbox.put(mt("c", "for c"))
    assert (await waiting).text == "for c"
    assert await take_all(inbox, None, 1) == ["not for c"]
    assert held(inbox) == 0

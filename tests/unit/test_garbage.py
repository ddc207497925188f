"""gateway.garbage: what start-up made is frozen, and the collector's thresholds are raised."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from gateway import garbage


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_settle_freezes_start_up_and_raises_the_thresholds() -> None:
    gc.unfreeze()
    garbage.settle()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == garbage.THRESHOLDS


@pytest.mark.usefixtures("restored_collector")
def test_cycles_made_after_settle_are_still_collected() -> None:
    garbage.settle()

    class Node:
        def __init__(self) -> None:
            self.peer: Node = self

    collected_before = sum(stats["collected"] for stats in gc.get_stats())
    for _ in range(garbage.THRESHOLDS[0] * 2):  # enough allocations for a young collection
        Node()
    assert sum(stats["collected"] for stats in gc.get_stats()) > collected_before

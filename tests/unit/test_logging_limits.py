"""RateLimitedLog: one line per kind per window, a summary of what was held back, exact counts."""

from __future__ import annotations

import asyncio
import logging

import pytest

from smpp.logging_limits import RateLimitedLog

LOGGER = "tests.logging_limits"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limits(clock: Clock) -> RateLimitedLog:
    return RateLimitedLog(logging.getLogger(LOGGER), interval=60.0, clock=clock)


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def test_one_line_per_kind_per_window_then_a_summary(
    limits: RateLimitedLog, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    for n in range(10_000):
        limits.warning("nack", "nack for sequence %d", n)
    assert lines(caplog) == ["nack for sequence 0"]
    clock.now += 60.0
    limits.warning("nack", "nack for sequence %d", 10_000)
    assert lines(caplog) == ["nack for sequence 0", "nack: 9,999 more in the last 60 s",
                             "nack for sequence 10000"]
    assert limits.counts["nack"] == 10_001


def test_kinds_are_limited_separately(
    limits: RateLimitedLog, caplog: pytest.LogCaptureFixture
) -> None:
    limits.warning("nack", "a nack")
    limits.warning("unknown", "an unknown command")
    limits.warning("nack", "a nack")
    assert lines(caplog) == ["a nack", "an unknown command"]
    assert limits.counts == {"nack": 2, "unknown": 1}


def test_flush_writes_what_is_owed_once_at_the_level_of_the_kind(
    limits: RateLimitedLog, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    limits.log(logging.INFO, "odd", "odd %s", "thing")
    limits.log(logging.INFO, "odd", "odd %s", "thing")
    limits.warning("once", "only once")
    clock.now += 2.4
    limits.flush()
    limits.flush()  # nothing owed any more
    assert lines(caplog) == ["odd thing", "only once", "odd: 1 more in the last 2 s"]
    assert [r.levelno for r in caplog.records if r.name == LOGGER] == [logging.INFO, logging.WARNING,
                                                                      logging.INFO]
    limits.log(logging.INFO, "odd", "odd again")  # a new window after a flush
    assert lines(caplog)[-1] == "odd again"


def test_nothing_held_back_means_no_summary(
    limits: RateLimitedLog, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    limits.warning("rare", "rare %d", 1)
    clock.now += 61
    limits.warning("rare", "rare %d", 2)
    assert lines(caplog) == ["rare 1", "rare 2"]


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="interval must be > 0"):
        RateLimitedLog(logging.getLogger(LOGGER), interval=0)


class Announcer(logging.Handler):
    """Sets ``written`` when a line containing ``word`` is logged."""

    def __init__(self, word: str) -> None:
        super().__init__()
        self.word, self.written = word, asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.word in record.getMessage():
            self.written.set()


async def test_in_an_event_loop_the_summary_comes_when_the_window_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger(LOGGER)
    announcer = Announcer("more in the last")
    logger.addHandler(announcer)
    try:
        limits = RateLimitedLog(logger, interval=0.05)
        for _ in range(3):
            limits.warning("storm", "a storm")
        await asyncio.wait_for(announcer.written.wait(), 5)
        assert lines(caplog) == ["a storm", "storm: 2 more in the last 0 s"]
        limits.warning("storm", "a storm")  # a new window: written at once
        assert lines(caplog)[-1] == "a storm"
        limits.flush()  # nothing held back: no line, and the timer of that window is gone
        assert len(lines(caplog)) == 3
    finally:
        logger.removeHandler(announcer)

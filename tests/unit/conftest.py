"""Unit tests run without Redis: `registry` here is the demo registry in memory, and a unit test
that asks for a Redis fixture fails (the guard below), so no unit test comes to need a server."""

from __future__ import annotations

import pytest

from flows.memory_registry import MemoryRegistry
from tests.harness import memory_registry

REDIS_FIXTURES = frozenset({"redis_server", "redis_url", "redis_client"})


@pytest.fixture
def registry() -> MemoryRegistry:
    """The demo registry in memory (nearer than tests/conftest.py's Redis one)."""
    return memory_registry()


@pytest.fixture(autouse=True)
def _no_redis(request: pytest.FixtureRequest) -> None:
    wanted = REDIS_FIXTURES & set(request.fixturenames)
    if wanted:
        pytest.fail(f"a unit test must not need Redis; it requests {sorted(wanted)}", pytrace=False)

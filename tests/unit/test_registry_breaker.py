"""The registry client's circuit breaker and the http backend's settings, without a server."""

from __future__ import annotations

import pytest

from gateway.errors import SettingsError
from gateway.registry_http.breaker import BreakerState, CircuitBreaker
from gateway.settings import load_settings


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_consecutive_failures_then_probes_once() -> None:
    clock = Clock()
    breaker = CircuitBreaker(3, 10, clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.failed()
    breaker.succeeded()  # a success in between: the count starts again
    for _ in range(3):
        assert breaker.allow()
        breaker.failed()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    clock.now += 10
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow() and not breaker.allow()  # one probe at a time
    breaker.failed()  # the probe failed: open again, for another reset period
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    clock.now += 10
    assert breaker.allow()
    breaker.succeeded()
    assert breaker.state is BreakerState.CLOSED and breaker.allow() and breaker.allow()


def test_backend_http_needs_url_and_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAMTA_REGISTRY__BACKEND", "http")
    with pytest.raises(SettingsError, match=r"registry\.url .* registry\.token"):
        load_settings()
    monkeypatch.setenv("HAMTA_REGISTRY__URL", "https://registry.example/")
    monkeypatch.setenv("HAMTA_REGISTRY__TOKEN", "0123456789abcdef0123")
    settings = load_settings()
    assert settings.registry.backend == "http" and settings.registry.url == "https://registry.example/"
    monkeypatch.setenv("HAMTA_REGISTRY__CLIENT_CERT", "/etc/hamta/gateway.pem")
    with pytest.raises(SettingsError, match=r"client_key go together"):
        load_settings()


def test_the_embedded_backend_stays_the_default() -> None:
    assert load_settings().registry.backend == "redis"

"""http.*: the callbacks are never open to the network by accident, and the HTTP bounds and the
screen key's privacy (gateway/settings.py, gateway/store/keys.py)."""

from __future__ import annotations

import pytest

from gateway.errors import SettingsError
from gateway.settings import HttpSettings, insecure_binding, is_loopback, load_settings
from gateway.store.keys import Keys
from gateway.transports.http_callbacks import ussd_session_id

TOKEN = "a-long-shared-aggregator-secret"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST",
                                  "::ffff:127.0.0.1"])  # fmt: skip
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)
    assert insecure_binding(HttpSettings(host=host)) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "10.0.0.5", "192.168.1.2", "gateway.internal",
                                  "128.0.0.1", "localhost.example"])  # fmt: skip
def test_a_non_loopback_host_without_a_token_is_refused_naming_the_token_and_the_override(
    monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    monkeypatch.setenv("HAMTA_HTTP__HOST", host)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    message = str(refused.value)
    for named in ("http.aggregator_token", "HAMTA_HTTP__AGGREGATOR_TOKEN", "http.allow_insecure",
                  "HAMTA_HTTP__ALLOW_INSECURE"):
        assert named in message


def test_a_non_loopback_host_with_a_token_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAMTA_HTTP__HOST", "0.0.0.0")
    monkeypatch.setenv("HAMTA_HTTP__AGGREGATOR_TOKEN", TOKEN)
    assert load_settings().http.host == "0.0.0.0"


def test_allow_insecure_lets_it_start_open(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAMTA_HTTP__HOST", "0.0.0.0")
    monkeypatch.setenv("HAMTA_HTTP__ALLOW_INSECURE", "true")
    http = load_settings().http
    assert http.allow_insecure and http.aggregator_token is None
    assert insecure_binding(http) is not None  # still a problem: the gateway warns at start


def test_http_bounds_defaults() -> None:
    http = load_settings().http
    assert (http.allow_insecure, http.max_body_bytes, http.max_concurrent_requests,
            http.max_concurrent_per_source, http.max_screen_waits) == (
        False, 65536, 500, 50, 200)  # fmt: skip


@pytest.mark.parametrize("variable", ["MAX_SCREEN_WAITS", "MAX_CONCURRENT_REQUESTS",
                                      "MAX_CONCURRENT_PER_SOURCE", "MAX_BODY_BYTES"])  # fmt: skip
def test_http_bounds_must_be_positive(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(f"HAMTA_HTTP__{variable}", "0")
    with pytest.raises(SettingsError, match=f"http.{variable.lower()}"):
        load_settings()


def test_the_screen_key_is_per_dialogue_and_names_no_number() -> None:
    keys = Keys("hamta", 16)
    a = keys.ussd_screen(ussd_session_id("default", "S1", "989121110001"))
    b = keys.ussd_screen(ussd_session_id("default", "S1", "989121110002"))
    c = keys.ussd_screen(ussd_session_id("other", "S1", "989121110001"))
    assert len({a, b, c}) == 3
    assert all(key.startswith("hamta:ussd-screen:") and "912111000" not in key for key in (a, b, c))
    assert a == keys.ussd_screen(ussd_session_id("default", "S1", "989121110001"))  # stable

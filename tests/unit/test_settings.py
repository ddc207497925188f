"""Settings: config.yaml defaults, HAMTA_<SECTION>__<KEY> overrides, errors naming the key."""

from __future__ import annotations

import pytest

from gateway.errors import SettingsError
from gateway.settings import load_settings


def test_defaults_come_from_config_yaml() -> None:
    settings = load_settings()
    assert (settings.service.shortcode, settings.service.ussd_code) == ("7777", "*7777#")
    assert settings.smpp.password is None  # a secret never has a default
    assert settings.ussd.selected_dialect().name == "smpp34"


@pytest.mark.parametrize(
    ("variable", "value", "read"),
    [("HAMTA_SMPP__HOST", "10.1.2.3", lambda s: s.smpp.host),
     ("HAMTA_SMPP__PORT", "2776", lambda s: s.smpp.port),
     ("HAMTA_SMPP__SYSTEM_ID", "hamta2", lambda s: s.smpp.system_id),
     ("HAMTA_SMPP__PASSWORD", "s3cret", lambda s: s.smpp.password.get_secret_value()),
     ("HAMTA_REDIS__URL", "redis://10.0.0.5:6380/2", lambda s: s.redis.url),
     ("HAMTA_HTTP__PORT", "9090", lambda s: s.http.port),
     ("HAMTA_SERVICE__SHORTCODE", "30007777", lambda s: s.service.shortcode),
     ("HAMTA_SERVICE__USSD_CODE", "*7788#", lambda s: s.service.ussd_code),
     ("HAMTA_USSD__DIALECT", "example_vendor_release", lambda s: s.ussd.dialect)],
)
def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, variable: str, value: str, read) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(variable, value)
    assert str(read(load_settings())) == value


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [("HAMTA_SMPP__PORT", "70000", "smpp.port (HAMTA_SMPP__PORT)"),
     ("HAMTA_SMPP__PASSWORD", "much-too-long", "smpp.password (HAMTA_SMPP__PASSWORD)"),
     ("HAMTA_REDIS__URL", "http://nope", "redis.url (HAMTA_REDIS__URL)"),
     ("HAMTA_SERVICE__USSD_CODE", "7777", "service.ussd_code (HAMTA_SERVICE__USSD_CODE)"),
     ("HAMTA_USSD__DIALECT", "nope", "ussd (HAMTA_USSD)")],
)
def test_a_bad_value_names_its_key(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=__import__("re").escape(named)):
        load_settings()

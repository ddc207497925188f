"""Settings: config.yaml defaults, HAMTA_<SECTION>__<KEY> overrides, errors naming the key."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.errors import SettingsError
from gateway.settings import Settings, load_settings


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


def test_smpp_addressing_and_coding_defaults() -> None:
    smpp = load_settings().smpp
    assert smpp.bind_mode == "transceiver"
    assert (smpp.source_ton, smpp.source_npi, smpp.destination_ton, smpp.destination_npi) == (3, 0, 1, 1)
    assert (smpp.gsm_data_coding, smpp.mo_default_coding) == (0, "gsm0338")


@pytest.mark.parametrize(
    ("variable", "value", "read"),
    [("HAMTA_SMPP__BIND_MODE", "receiver_transmitter", lambda s: s.smpp.bind_mode),
     ("HAMTA_SMPP__SOURCE_TON", "5", lambda s: s.smpp.source_ton),
     ("HAMTA_SMPP__SOURCE_NPI", "1", lambda s: s.smpp.source_npi),
     ("HAMTA_SMPP__DESTINATION_TON", "2", lambda s: s.smpp.destination_ton),
     ("HAMTA_SMPP__DESTINATION_NPI", "8", lambda s: s.smpp.destination_npi),
     ("HAMTA_SMPP__GSM_DATA_CODING", "1", lambda s: s.smpp.gsm_data_coding),
     ("HAMTA_SMPP__MO_DEFAULT_CODING", "latin1", lambda s: s.smpp.mo_default_coding),
     ("HAMTA_SMPP__MO_DEFAULT_CODING", "ascii", lambda s: s.smpp.mo_default_coding)],
)
def test_smpp_numbering_and_coding_overrides(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, read: Callable[[Settings], object]
) -> None:
    monkeypatch.setenv(variable, value)
    assert str(read(load_settings())) == value


@pytest.mark.parametrize(
    ("variable", "value", "named", "says"),
    [("HAMTA_SMPP__BIND_MODE", "receiver", "smpp.bind_mode (HAMTA_SMPP__BIND_MODE)", "transceiver"),
     ("HAMTA_SMPP__SOURCE_TON", "7", "smpp.source_ton (HAMTA_SMPP__SOURCE_TON)", "TON must be one of"),
     ("HAMTA_SMPP__DESTINATION_TON", "-1", "smpp.destination_ton", "0, 1, 2, 3, 4, 5, 6"),
     ("HAMTA_SMPP__SOURCE_NPI", "2", "smpp.source_npi (HAMTA_SMPP__SOURCE_NPI)", "NPI must be one of"),
     ("HAMTA_SMPP__DESTINATION_NPI", "19", "smpp.destination_npi", "0, 1, 3, 4, 6, 8, 9, 10, 14, 18"),
     ("HAMTA_SMPP__GSM_DATA_CODING", "8", "smpp.gsm_data_coding", "1 IA5/ASCII"),
     ("HAMTA_SMPP__MO_DEFAULT_CODING", "utf8", "smpp.mo_default_coding", "gsm0338")],
)
def test_bad_smpp_numbering_and_coding_name_their_key(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str, says: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert named in str(raised.value) and says in str(raised.value)


def test_the_client_and_the_submits_get_the_smpp_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.app import addressing, client_config

    for key, value in {"PASSWORD": "pw", "BIND_MODE": "receiver_transmitter", "SOURCE_TON": "6",
                       "DESTINATION_TON": "2", "DESTINATION_NPI": "8", "GSM_DATA_CODING": "1",
                       "MO_DEFAULT_CODING": "latin1"}.items():
        monkeypatch.setenv(f"HAMTA_SMPP__{key}", value)
    settings = load_settings()
    config = client_config(settings)
    assert (config.bind_mode, config.mo_default_coding) == ("receiver_transmitter", "latin1")
    sent = addressing(settings)
    assert (sent.source, sent.source_ton, sent.source_npi) == ("7777", 6, 0)
    assert (sent.destination_ton, sent.destination_npi, sent.gsm_data_coding) == (2, 8, 1)

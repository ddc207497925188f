"""Issue 11, settings: HAMTA_CONFIG layers over the packaged defaults; a missing file, a YAML
syntax error, an unknown key at any depth (file or environment) and an empty secret are errors
naming what is wrong; `config check` prints the effective settings with secrets hidden."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gateway.errors import SettingsError
from gateway.settings import effective_settings, load_settings
from tests.processes import ROOT


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Write a HAMTA_CONFIG file with the given text."""
    def write(text: str) -> Path:
        path = tmp_path / "hamta.yaml"
        path.write_text(text, encoding="utf-8")
        monkeypatch.setenv("HAMTA_CONFIG", str(path))
        return path

    return write


def test_a_partial_file_overrides_only_what_it_names(config) -> None:  # type: ignore[no-untyped-def]
    config("smpp:\n  port: 2776\nservice:\n  shortcode: '30007777'\n")
    settings = load_settings()
    assert (settings.smpp.port, settings.service.shortcode) == (2776, "30007777")
    # the rest as the packaged config.yaml says, in the same sections and in the others
    assert (settings.smpp.host, settings.smpp.system_id, settings.service.ussd_code) == (
        "127.0.0.1", "hamta", "*7777#")
    assert settings.redis.partitions == 16


def test_the_environment_wins_over_the_file(config, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    config("smpp:\n  port: 2776\n")
    monkeypatch.setenv("HAMTA_SMPP__PORT", "2777")
    assert load_settings().smpp.port == 2777


def test_a_missing_file_is_an_error_naming_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere.yaml"
    monkeypatch.setenv("HAMTA_CONFIG", str(missing))
    with pytest.raises(SettingsError, match=f"HAMTA_CONFIG names {missing}"):
        load_settings()


def test_a_yaml_syntax_error_names_file_line_and_column(config) -> None:  # type: ignore[no-untyped-def]
    path = config("smpp:\n  port: 2776\n  host: [oops\n")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith(f"{path}:4:1: YAML syntax error")
    assert "line 3, column 9" in message  # where the unclosed flow sequence began


def test_a_file_that_is_not_a_mapping_is_an_error(config) -> None:  # type: ignore[no-untyped-def]
    path = config("- smpp\n- redis\n")
    with pytest.raises(SettingsError, match=f"{path}: a mapping of sections"):
        load_settings()


@pytest.mark.parametrize(
    ("text", "named"),
    [("smpp:\n  prot: 2776\n", "smpp.prot"),
     ("limits:\n  codes_per_hourr: 3\n", "limits.codes_per_hourr"),
     ("ussd:\n  dialects:\n    mine:\n      begin_ops: [1]\n      continue_ops: [18]\n"
      "      continue_op: 2\n      end_op: 17\n      bogus: 1\n", "ussd.dialects.mine.bogus"),
     ("smtp:\n  port: 25\n", "smtp")],
)
def test_an_unknown_key_in_the_file_is_an_error_naming_it(config, text: str, named: str) -> None:  # type: ignore[no-untyped-def]
    config(text)
    with pytest.raises(SettingsError, match=rf"setting {named.replace('.', '[.]')} .*"):
        load_settings()


@pytest.mark.parametrize(
    ("variable", "named"),
    [("HAMTA_SMPP__PORTT", "setting smpp.portt (HAMTA_SMPP__PORTT): unknown key"),
     ("HAMTA_ADMIN__TOKN", "setting admin.tokn (HAMTA_ADMIN__TOKN): unknown key"),
     ("HAMTA_SMTP__PORT", "setting HAMTA_SMTP__PORT: unknown section 'smtp'")],
)
def test_an_unknown_variable_is_an_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, named: str
) -> None:
    monkeypatch.setenv(variable, "1")
    with pytest.raises(SettingsError, match=named.replace("(", r"\(").replace(")", r"\)")):
        load_settings()


@pytest.mark.parametrize("variable", ["HAMTA_SMPP__PASSWORD", "HAMTA_SERVICE__SECRET_KEY",
                                      "HAMTA_HTTP__AGGREGATOR_TOKEN", "HAMTA_ADMIN__TOKEN"])
def test_an_empty_secret_is_an_error_naming_it(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "")
    with pytest.raises(SettingsError, match=rf"\({variable}\): .*empty secret"):
        load_settings()


def test_admin_defaults_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    admin = load_settings().admin
    assert (admin.host, admin.port, admin.token, admin.cors_origins) == ("127.0.0.1", 8081, None, [])
    monkeypatch.setenv("HAMTA_ADMIN__TOKEN", "t" * 20)
    monkeypatch.setenv("HAMTA_ADMIN__PORT", "0")
    monkeypatch.setenv("HAMTA_ADMIN__CORS_ORIGINS", '["http://console.example:8080"]')
    admin = load_settings().admin
    assert admin.token is not None and admin.token.get_secret_value() == "t" * 20
    assert (admin.port, admin.cors_origins) == (0, ["http://console.example:8080"])


def test_effective_settings_hide_every_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = {"HAMTA_SMPP__PASSWORD": "pw12345", "HAMTA_SERVICE__SECRET_KEY": "k" * 40,
               "HAMTA_ADMIN__TOKEN": "admin-token-1234567", "HAMTA_HTTP__AGGREGATOR_TOKEN": "a" * 20}
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    shown = effective_settings(load_settings())
    assert (shown["smpp"]["password"], shown["service"]["secret_key"], shown["admin"]["token"],
            shown["http"]["aggregator_token"]) == ("***",) * 4
    text = json.dumps(shown)
    assert not any(value in text for value in secrets.values())


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HAMTA_")}
    return subprocess.run([sys.executable, "-m", "gateway", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env=clean | env)


def test_config_check_prints_the_effective_settings_secrets_hidden() -> None:
    result = _cli("config", "check", HAMTA_SMPP__PASSWORD="pw12345", HAMTA_SMPP__PORT="2799")
    assert result.returncode == 0, result.stderr
    shown = yaml.safe_load(result.stdout)
    assert (shown["smpp"]["port"], shown["smpp"]["password"]) == (2799, "***")
    assert "pw12345" not in result.stdout + result.stderr
    as_json = _cli("config", "check", "--format", "json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["smpp"]["password"] is None


def test_config_check_exits_2_naming_the_problem_without_a_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("smpp:\n  port: 2776\n   host: x\n", encoding="utf-8")
    result = _cli("config", "check", HAMTA_CONFIG=str(broken))
    assert result.returncode == 2
    assert f"{broken}:3:" in result.stderr and "YAML syntax error" in result.stderr
    assert "Traceback" not in result.stderr
    unknown = _cli("config", "check", HAMTA_SMPP__PORTT="1")
    assert unknown.returncode == 2 and "smpp.portt (HAMTA_SMPP__PORTT): unknown key" in unknown.stderr
    missing = _cli("config", "check", HAMTA_CONFIG=str(tmp_path / "gone.yaml"))
    assert missing.returncode == 2 and "gone.yaml" in missing.stderr and "Traceback" not in missing.stderr

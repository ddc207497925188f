"""Settings: `config.yaml` defaults, overridden by `HAMTA_<SECTION>__<KEY>` variables.

Validated once at start-up; a bad value stops the process with a message that names the key
(`SettingsError`). Layers, later winning: the packaged `config.yaml` (repository root), then
`$HAMTA_CONFIG` (which must exist) or else a `config.yaml` in the working directory (each only
overrides what it names), then the environment. An unknown key at any depth (in a file or the
environment) and an empty secret are errors naming the key; a YAML syntax error names the
file, line and column.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from gateway.errors import SettingsError
from smpp.events import GSM_DATA_CODINGS, BindMode, MoDefaultCoding
from smpp.submit import NPIS, TONS
from smpp.ussd import BUILTIN_DIALECTS, UssdDialect

PositiveSeconds = float


class Section(BaseModel):
    """A settings section: an unknown key is an error (a typo never falls back to a default
    silently), and so is a secret set to nothing (`HAMTA_SMPP__PASSWORD=`): unset it instead."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_empty_secret(cls, value: object, info: ValidationInfo) -> object:
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and "SecretStr" in str(field.annotation) and value in ("", b""):
            raise ValueError("an empty secret: give it a value or leave the setting out")
        return value


class ServiceSettings(Section):
    shortcode: str = Field(min_length=1, max_length=20)
    ussd_code: str = Field("*7777#", pattern=r"^[*#][0-9*]*[0-9]#$")
    default_language: Literal["fa", "en"] = "fa"
    session_idle_seconds: int = Field(600, gt=0)
    code_ttl_seconds: int = Field(180, gt=0)
    code_max_sends: int = Field(3, ge=1)
    max_invalid_inputs: int = Field(3, ge=1)
    max_mismatches_per_session: int = Field(3, ge=1)
    lockout_strikes: int = Field(5, ge=1)
    lockout_seconds: int = Field(86400, gt=0)
    shutdown_seconds: float = Field(20, gt=0)
    # No default: keys the code HMACs and the derivation of new passwords, and lives only in
    # the settings (never in Redis). Rotation: docs/security.md.
    secret_key: SecretStr | None = Field(None, min_length=32)


class LimitsSettings(Section):
    """Abuse limits (docs/security.md), chosen for citizens, not attackers."""

    codes_per_hour: int = Field(3, ge=1)  # confirmation codes per number, across sessions
    codes_per_day: int = Field(6, ge=1)
    reply_segments_burst: int = Field(12, ge=1)  # MT segments one number may cost at once
    reply_segments_per_10_minutes: int = Field(20, ge=1)  # then refilled at this pace
    # MT segments per second, per process, for replies to numbers with no dialog in progress
    # (menu, help): well under smpp.tps, so a flood of strangers leaves room for dialogs.
    sessionless_segments_per_second: float = Field(20, gt=0)


class PrivacySettings(Section):
    # Dead letters (messages that could not be handled or sent) keep masked numbers and no text,
    # for a week, unless an operator asks for the text (it may hold what a citizen typed).
    keep_dead_letter_text: bool = False
    dead_letter_ttl_seconds: int = Field(7 * 86400, gt=0)


class SmppSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(2775, ge=1, le=65535)
    system_id: str = Field("hamta", min_length=1, max_length=15)
    # No default: a secret must come from the environment or a private config file.
    password: SecretStr | None = Field(None, max_length=8)
    system_type: str = Field("", max_length=12)
    bind_mode: BindMode = "transceiver"
    enquire_link_seconds: float = Field(30, gt=0)
    response_timeout_seconds: float = Field(10, gt=0)
    reconnect_min_seconds: float = Field(0.5, gt=0)
    reconnect_max_seconds: float = Field(30, gt=0)
    window: int = Field(10, ge=1, le=1000)
    tps: float = Field(100, gt=0)
    # SMPP 3.4 numbering (smpp.submit): the source is the shortcode, the destination a subscriber.
    source_ton: int = 3
    source_npi: int = 0
    destination_ton: int = 1
    destination_npi: int = 1
    gsm_data_coding: int = 0  # data_coding for text fitting GSM 03.38: 0 SMSC default, 1 IA5
    mo_default_coding: MoDefaultCoding = "gsm0338"  # how an MO with data_coding 0 is read
    mo_segment_timeout_seconds: int = Field(120, gt=0)
    mo_duplicate_window_seconds: int = Field(60, ge=0)
    receipt_ttl_seconds: int = Field(259200, gt=0)
    # How a receipt writes the submit_sm_resp's message id (smpp/receipts.py): auto tries it as
    # written and in the other base; hex/decimal name the receipt's base; string: as written.
    receipt_id_format: Literal["auto", "hex", "decimal", "string"] = "auto"
    # An MO stored on a bind that was then lost, at most this long before the loss, and sent
    # again on the next bind, is taken as the SMSC's redelivery (not answered twice).
    mo_redelivery_grace_seconds: float = Field(5, ge=0)

    @field_validator("source_ton", "destination_ton")
    @classmethod
    def _ton(cls, value: int) -> int:
        if value not in TONS:
            raise ValueError(f"TON must be one of {_listed(TONS)} (SMPP 3.4, 5.2.5)")
        return value

    @field_validator("source_npi", "destination_npi")
    @classmethod
    def _npi(cls, value: int) -> int:
        if value not in NPIS:
            raise ValueError(f"NPI must be one of {_listed(NPIS)} (SMPP 3.4, 5.2.6)")
        return value

    @field_validator("gsm_data_coding")
    @classmethod
    def _gsm_data_coding(cls, value: int) -> int:
        if value not in GSM_DATA_CODINGS:
            raise ValueError(f"must be one of {_listed(GSM_DATA_CODINGS)}: 0 SMSC default "
                             "alphabet (GSM 03.38), 1 IA5/ASCII")
        return value


def _listed(values: frozenset[int] | tuple[int, ...]) -> str:
    return ", ".join(str(value) for value in sorted(values))


class RedisSettings(Section):
    url: str = Field("redis://127.0.0.1:6379/0", pattern=r"^(redis|rediss|unix)://")
    prefix: str = Field("hamta", pattern=r"^[a-z][a-z0-9_-]*$")
    partitions: int = Field(16, ge=1, le=1024)
    lease_seconds: float = Field(15, gt=0)
    max_connections: int = Field(128, ge=8, le=10000)
    cluster: bool = False  # url names one node of a Redis Cluster; the others are discovered


class HttpSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    # Aggregators send it as X-Hamta-Token; unset, the callbacks are open: only on a loopback
    # host, unless allow_insecure (see `insecure_binding`).
    aggregator_token: SecretStr | None = Field(None, min_length=16)
    allow_insecure: bool = False  # open callbacks on a non-loopback host (a WARNING at start)
    max_body_bytes: int = Field(65536, ge=1024, le=16 * 1024 * 1024)  # larger: 413
    # Per process, on /ussd and /sms/inbound; beyond them an answer at once, never a queue:
    # 503 + Retry-After (all sources), 429 + Retry-After (one peer address).
    max_concurrent_requests: int = Field(500, ge=1, le=100_000)
    max_concurrent_per_source: int = Field(50, ge=1, le=100_000)
    # USSD hops waiting for their screen, each on a connection of the HTTP callbacks' own Redis
    # pool (never the one SMPP intake and the leases use); beyond it /ussd answers 503.
    max_screen_waits: int = Field(200, ge=1, le=10_000)

    @model_validator(mode="after")
    def _no_open_callbacks_on_the_network(self) -> HttpSettings:
        problem = insecure_binding(self)
        if problem and not self.allow_insecure:
            raise ValueError(problem)
        return self


LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 (also as [::1] or ::ffff:127.x) and localhost; anything else (0.0.0.0,
    "", a name) may be reachable from the network."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def insecure_binding(http: HttpSettings) -> str | None:
    """Why the aggregator callbacks would be open to the network, or None when they are not."""
    if http.aggregator_token is not None or is_loopback(http.host):
        return None
    return (f"http.host {http.host!r} is not loopback and http.aggregator_token "
            "(HAMTA_HTTP__AGGREGATOR_TOKEN, 16+ characters) is not set: /ussd and /sms/inbound "
            "would be open to anyone who can reach the port; set the token, or bind to "
            "127.0.0.1, or set http.allow_insecure: true (HAMTA_HTTP__ALLOW_INSECURE=true) to "
            "run open anyway")


class RegistrySettings(Section):
    """The embedded Redis registry (`redis`), or a network one over docs/registry-api.yaml
    (`http`); `registry serve` serves the embedded one over that API with the same token."""

    backend: Literal["redis", "http"] = "redis"
    url: str | None = Field(None, pattern=r"^https?://")  # the API's base, without /v1
    # No default: the bearer token of the registry API (the client sends it, `serve` checks it).
    token: SecretStr | None = Field(None, min_length=16)
    ca_file: Path | None = None  # CA bundle for an https url (else the system's)
    client_cert: Path | None = None  # a client certificate (mutual TLS), with client_key
    client_key: Path | None = None
    timeout_seconds: float = Field(3, gt=0)  # one HTTP attempt
    retries: int = Field(2, ge=0, le=10)  # more attempts, with jittered backoff
    backoff_seconds: float = Field(0.1, gt=0)  # the first retry's pause (doubled each time)
    turn_deadline_seconds: float = Field(10, gt=0)  # all registry calls of one turn
    breaker_failures: int = Field(5, ge=1)  # consecutive failed calls that open the breaker
    breaker_reset_seconds: float = Field(10, gt=0)  # open this long, then one probe call
    idempotency_ttl_seconds: int = Field(30 * 86400, gt=0)  # `serve`: first results kept
    max_connections: int = Field(100, ge=1, le=10_000)  # client connection pool per process

    @model_validator(mode="after")
    def _http_needs_url_and_token(self) -> RegistrySettings:
        if self.backend == "http" and (self.url is None or self.token is None):
            raise ValueError("registry.backend http needs registry.url (HAMTA_REGISTRY__URL) and "
                             "registry.token (HAMTA_REGISTRY__TOKEN, 16+ characters)")
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("registry.client_cert and registry.client_key go together")
        return self


class DialectSettings(Section):
    """One dialect in ``config.yaml`` (``ussd.dialects.<name>``)."""

    begin_ops: list[int] = Field(min_length=1)
    continue_ops: list[int] = Field(min_length=1)
    abort_ops: list[int] = []
    timeout_ops: list[int] = []
    continue_op: int = Field(ge=0, le=255)
    end_op: int = Field(ge=0, le=255)
    service_type: str = Field("USSD", max_length=5)

    def dialect(self, name: str) -> UssdDialect:
        """ValueError when the table contradicts itself (see `UssdDialect`)."""
        return UssdDialect(
            name, tuple(self.begin_ops), tuple(self.continue_ops), tuple(self.abort_ops),
            tuple(self.timeout_ops), self.continue_op, self.end_op, self.service_type,
        )  # fmt: skip


class UssdSettings(Section):
    """``ussd:`` in config.yaml. ``dialects`` adds to (or replaces) the built-in tables."""

    dialect: str = "smpp34"
    dialects: dict[str, DialectSettings] = {}
    session_seconds: float = Field(180, gt=0, description="the network's dialogue limit")
    resume_seconds: float = Field(300, ge=0, description="offer to resume a timed-out dialogue")
    answer_budget_seconds: float = Field(2, gt=0, description="else end politely, go on by SMS")

    @model_validator(mode="after")
    def _known_dialect(self) -> UssdSettings:
        tables = self.all_dialects()  # ValueError (named by pydantic) for a contradiction
        if self.dialect not in tables:
            raise ValueError(f"unknown dialect {self.dialect!r}; known: {', '.join(sorted(tables))}")
        return self

    def all_dialects(self) -> dict[str, UssdDialect]:
        configured = {name: table.dialect(name) for name, table in self.dialects.items()}
        return {**BUILTIN_DIALECTS, **configured}

    def selected_dialect(self) -> UssdDialect:
        return self.all_dialects()[self.dialect]


class AdminSettings(Section):
    """The admin API (gateway/admin/): its own port, every route behind the token; without a
    token it does not start (a log line says so)."""

    host: str = "127.0.0.1"
    port: int = Field(8081, ge=0, le=65535)  # 0: the OS picks one (logged)
    token: SecretStr | None = Field(None, min_length=16)
    # Browser origins allowed to call it (the web console); empty: the HTTP server's own.
    cors_origins: list[str] = []


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"  # json: one object per line (gateway/logging_setup.py)
    smpp_trace: bool = False  # every PDU, personal fields masked, on the logger hamta.smpp.trace


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HAMTA_", env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    service: ServiceSettings
    smpp: SmppSettings = SmppSettings()
    redis: RedisSettings = RedisSettings()
    http: HttpSettings = HttpSettings()
    registry: RegistrySettings = RegistrySettings()
    logging: LoggingSettings = LoggingSettings()
    privacy: PrivacySettings = PrivacySettings()
    limits: LimitsSettings = LimitsSettings()
    ussd: UssdSettings = UssdSettings()
    admin: AdminSettings = AdminSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _Layers(settings_cls, read_config_files()))


class _Layers(PydanticBaseSettingsSource):
    """The config files, already read and merged (`read_config_files`)."""

    def __init__(self, settings_cls: type[BaseSettings], values: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._values = values

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return self._values


PACKAGED_CONFIG = Path(__file__).resolve().parents[1] / "config.yaml"


def config_files() -> list[Path]:
    """The files read, in order: the packaged defaults, then `$HAMTA_CONFIG` (or else a
    config.yaml in the working directory) over them."""
    files = [PACKAGED_CONFIG]
    explicit = os.environ.get("HAMTA_CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise SettingsError(f"HAMTA_CONFIG names {path}, which is not a readable file")
        files.append(path)
    else:
        local = Path.cwd() / "config.yaml"
        if local.is_file() and local.resolve() != PACKAGED_CONFIG:
            files.append(local)
    return [path for i, path in enumerate(files) if path.resolve() not in
            {earlier.resolve() for earlier in files[:i]}]


def read_config_files() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in config_files():
        merged = _deep_merge(merged, _read_yaml(path))
    return merged


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        context = exc.context_mark
        near = (f" ({exc.context} at line {context.line + 1}, column {context.column + 1})"
                if exc.context and context else "")
        raise SettingsError(f"{where}: YAML syntax error: {exc.problem or exc}{near}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SettingsError(f"{path}: cannot be read: {exc}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise SettingsError(f"{path}: a mapping of sections (service:, smpp:, ...) was expected")
    return loaded


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings; `overrides` (section -> dict) win over everything."""
    _check_environment()
    try:
        # Each section is a dict that pydantic validates; the model types them, not this call.
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from exc


# HAMTA_* variables that are not settings: the settings file, the event loop's choice
# (gateway/event_loop.py), a child's index under `run --processes` (gateway/processes.py),
# where tests put screenshots, and the reference registry's test-only fault injection.
NOT_SETTINGS = frozenset({"HAMTA_CONFIG", "HAMTA_EVENT_LOOP", "HAMTA_PROCESS_INDEX",
                          "HAMTA_ARTIFACTS", "HAMTA_TEST_REGISTRY_FAULTS"})


def _check_environment() -> None:
    """An unknown section in a variable (`HAMTA_SMTP__PORT`) is an error too; an unknown key
    inside a known section is caught by the section itself."""
    sections = set(Settings.model_fields)
    for name in sorted(os.environ):
        if not name.upper().startswith("HAMTA_") or name.upper() in NOT_SETTINGS:
            continue
        section = name[len("HAMTA_"):].split("__", 1)[0].lower()
        if section not in sections:
            raise SettingsError(f"setting {name}: unknown section {section!r}; known: "
                                f"{', '.join(sorted(sections))}")


def effective_settings(settings: Settings) -> dict[str, Any]:
    """Every setting as plain data, secrets shown as `***` (and unset ones as null)."""
    def hide(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return "***"
        if isinstance(value, Path):  # a CA file, a client certificate: YAML and JSON take strings
            return str(value)
        if isinstance(value, dict):
            return {key: hide(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [hide(item) for item in value]
        return value

    return {name: hide(getattr(settings, name).model_dump(mode="python"))
            for name in Settings.model_fields}


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        dotted = ".".join(str(part) for part in error["loc"])
        env = "HAMTA_" + "__".join(str(part).upper() for part in error["loc"])
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        lines.append(f"setting {dotted} ({env}): {message}")
    return "invalid configuration:\n  " + "\n  ".join(lines)

"""The conformance scenarios file (docs/conformance.md): YAML, checked whole before anything runs.

    - name: restore into a SIM cartable (R1, R4)
      description: Sara texts from her active SIM and restores the phone of her expired one.
      steps:
        - send: {from: "09361110003", text: "1"}
        - expect_sms: {to: "09361110003", matches: "IMEI"}

`load_scenarios(path)` returns the scenarios, their steps validated (`devtools.conformance.steps`)
and numbers normalised, or raises `ScenarioFileError` naming the scenario and the step, counted
from 1 (`scenario 2 ("recycled number"), step 3 (expect_sms): matches: ...`). Beyond each step
on its own it checks their order: `{code}` only after an `expect_sms` with `save_code: true`,
USSD steps only after a `dial`, and a `ussd_reply` only once an `expect_screen` has read the
screen it answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from devtools.conformance.steps import (
    PLACEHOLDERS,
    PLAIN_STEPS,
    STEP_KINDS,
    Dial,
    ExpectScreen,
    ExpectSms,
    Step,
    UssdReply,
    registry_model,
)


class ScenarioFileError(ValueError):
    """The scenarios file cannot be read or is invalid; the message names scenario and step.
    Not retryable: fix the file (`conformance` exits 2)."""


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    steps: tuple[Step, ...]


class _ScenarioIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    description: str = ""
    steps: list[Any] = Field(min_length=1)


def load_scenarios(path: Path) -> list[Scenario]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ScenarioFileError(f"{path}: cannot read YAML: {exc}") from exc
    try:
        return parse_scenarios(raw)
    except ScenarioFileError as exc:
        raise ScenarioFileError(f"{path}: {exc}") from exc


def parse_scenarios(raw: object) -> list[Scenario]:
    if not isinstance(raw, list) or not raw:
        raise ScenarioFileError("the file must be a non-empty list of scenarios (- name: …, steps: …)")
    scenarios = [_scenario(i, entry) for i, entry in enumerate(raw, 1)]
    seen: dict[str, int] = {}
    for i, scenario in enumerate(scenarios, 1):
        if scenario.name in seen:
            raise ScenarioFileError(f"scenario {i} ({scenario.name!r}): the name is already used by "
                                    f"scenario {seen[scenario.name]}; names must be unique")
        seen[scenario.name] = i
    return scenarios


def _scenario(number: int, entry: object) -> Scenario:
    name = entry.get("name") if isinstance(entry, dict) else None
    where = f"scenario {number}" + (f" ({name!r})" if isinstance(name, str) and name else "")
    try:
        scenario = _ScenarioIn.model_validate(entry)
    except ValidationError as exc:
        raise ScenarioFileError(f"{where}: {_first_error(exc)}") from exc
    steps = tuple(_step(f"{where}, step {j}", raw) for j, raw in enumerate(scenario.steps, 1))
    _check_order(where, steps)
    return Scenario(scenario.name, scenario.description.strip(), steps)


def _step(where: str, raw: object) -> Step:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ScenarioFileError(f"{where}: a step is a mapping with one key, one of "
                                f"{', '.join(STEP_KINDS)} (e.g. `- send: {{from: …, text: …}}`)")
    ((kind, args),) = raw.items()
    if kind not in STEP_KINDS:
        raise ScenarioFileError(f"{where}: unknown step {kind!r}; one of {', '.join(STEP_KINDS)}")
    where = f"{where} ({kind})"
    if not isinstance(args, dict):
        raise ScenarioFileError(f"{where}: its arguments must be a mapping, got {args!r}")
    try:
        model = PLAIN_STEPS[kind] if kind in PLAIN_STEPS else registry_model(args)
        step = cast(Step, model.model_validate(args))
    except ValidationError as exc:
        raise ScenarioFileError(f"{where}: {_first_error(exc)}") from exc
    except ValueError as exc:
        raise ScenarioFileError(f"{where}: {exc}") from exc
    return step


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{field}: {message}" if field else message


def _check_order(where: str, steps: tuple[Step, ...]) -> None:
    """`{code}` after a saved code; USSD steps inside a dialogue, a reply after its screen."""
    saved = dialled = screen_read = ended = False
    for j, step in enumerate(steps, 1):
        at = f"{where}, step {j} ({step.kind})"
        if any(p in text for text in step.texts() for p in PLACEHOLDERS) and not saved:
            raise ScenarioFileError(f"{at}: uses {{code}} before any expect_sms with save_code: true")
        if isinstance(step, UssdReply | ExpectScreen) and not dialled:
            raise ScenarioFileError(f"{at}: no USSD dialogue is open: put a dial step before it")
        if isinstance(step, UssdReply) and (ended or not screen_read):
            problem = "the dialogue has ended" if ended else "no expect_screen has read the screen"
            raise ScenarioFileError(f"{at}: {problem}; a ussd_reply answers the screen just expected")
        saved = saved or (isinstance(step, ExpectSms) and step.save_code)
        if isinstance(step, Dial | UssdReply):
            dialled, screen_read, ended = True, False, False
        elif isinstance(step, ExpectScreen):
            screen_read, ended = True, step.ends is True

"""The conformance scenarios loader: the shipped file loads; a bad file is refused naming the
scenario and the step, as `registry load` names the bad entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.conformance.runner import matches, wrong_code
from devtools.conformance.scenarios import ScenarioFileError, load_scenarios, parse_scenarios
from devtools.conformance.steps import Dial, ExpectDevice, ExpectPerson, ExpectSim, ExpectSms, Send

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "devtools" / "data" / "conformance-scenarios.yaml"


def one(*steps: dict[str, Any], name: str = "s") -> list[dict[str, Any]]:
    return [{"name": name, "steps": list(steps)}]


SEND = {"send": {"from": "09361110003", "text": "1"}}


def test_the_shipped_scenarios_load_with_distinct_numbers() -> None:
    scenarios = load_scenarios(SHIPPED)
    assert len(scenarios) >= 10
    numbers = []
    for scenario in scenarios:
        senders = {s.sender for s in scenario.steps if isinstance(s, Send | Dial)}
        assert len(senders) == 1, scenario.name  # one number per scenario...
        numbers += senders
    assert len(numbers) == len(set(numbers))  # ...and none shared: any order works


def test_the_example_in_the_docs_loads() -> None:
    text = (ROOT / "docs" / "conformance.md").read_text(encoding="utf-8")
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    names = [scenario.name for scenario in parse_scenarios(yaml.safe_load(example))]
    assert len(names) == 3


def test_steps_are_normalised() -> None:
    (scenario,) = parse_scenarios(one(
        {"send": {"from": "+98 936 111 0003", "text": 1}},
        {"expect_sms": {"to": "9361110003", "matches": "x", "save_code": True, "within": 2}},
        {"dial": {"from": "۰۹۳۶۱۱۱۰۰۰۳"}},
        {"expect_registry": {"imei": "49-015420-323751-8", "sim": "09361110003"}},
        {"expect_registry": {"msisdn": "09351110002", "status": "expired"}},
        {"expect_registry": {"national_id": 5512345672, "cartable_sims_include": "09121110010"}},
    ))
    send, sms, dial, device, sim, person = scenario.steps
    assert send == Send.model_validate({"from": "989361110003", "text": "1"})
    assert isinstance(sms, ExpectSms) and sms.to == "989361110003" and sms.within == 2
    assert isinstance(dial, Dial) and dial.sender == "989361110003" and dial.code is None
    assert device == ExpectDevice(imei="490154203237518", sim="989361110003")
    assert isinstance(sim, ExpectSim) and sim.status == "expired"
    assert isinstance(person, ExpectPerson) and person.cartable_sims_include == ["989121110010"]


@pytest.mark.parametrize(("raw", "message"), [
    ({"people": []}, "the file must be a non-empty list of scenarios"),
    ([], "the file must be a non-empty list of scenarios"),
    ([{"steps": [SEND]}], "scenario 1: name: Field required"),
    ([{"name": "a", "steps": []}], "scenario 1 ('a'): steps: List should have at least 1 item"),
    ([{"name": "a", "steps": [SEND], "extra": 1}], "scenario 1 ('a'): extra: Extra inputs are not permitted"),
    (one(SEND) + one(SEND), "scenario 2 ('s'): the name is already used by scenario 1"),
    (one(SEND, {"sned": {}}), "scenario 1 ('s'), step 2: unknown step 'sned'; one of send, expect_sms"),
    (one({"send": {}, "dial": {}}), "scenario 1 ('s'), step 1: a step is a mapping with one key"),
    (one("send"), "scenario 1 ('s'), step 1: a step is a mapping with one key"),
    (one({"send": "hi"}), "scenario 1 ('s'), step 1 (send): its arguments must be a mapping"),
    (one({"send": {"from": "0936", "text": "1"}}),
     "scenario 1 ('s'), step 1 (send): from: '0936' is not an Iranian mobile number"),
    (one({"send": {"from": "09361110003"}}), "scenario 1 ('s'), step 1 (send): text: Field required"),
    (one({"send": {"from": "09361110003", "text": "1", "wait": 2}}),
     "scenario 1 ('s'), step 1 (send): wait: Extra inputs are not permitted"),
    (one(SEND, {"expect_sms": {"to": "09361110003", "matches": "(unclosed"}}),
     "scenario 1 ('s'), step 2 (expect_sms): matches: '(unclosed' is not a valid regular expression"),
    (one(SEND, {"expect_sms": {"to": "09361110003", "matches": "x", "within": 0}}),
     "scenario 1 ('s'), step 2 (expect_sms): within: Input should be greater than 0"),
    (one({"dial": {"from": "09361110003", "code": "7777"}}),
     "scenario 1 ('s'), step 1 (dial): code: '7777' is not a USSD code"),
    (one({"expect_registry": {"imei": "490154203237519", "sim": "09361110003"}}),
     "scenario 1 ('s'), step 1 (expect_registry): imei: '490154203237519' is not a valid 15-digit IMEI"),
    (one({"expect_registry": {"imei": "490154203237518"}}),
     "scenario 1 ('s'), step 1 (expect_registry): nothing to expect: give sim, national_id or detached"),
    (one({"expect_registry": {"imei": "490154203237518", "sim": "09361110003", "national_id": "0499370899"}}),
     "scenario 1 ('s'), step 1 (expect_registry): a device has one home"),
    (one({"expect_registry": {"imei": "490154203237518", "status": "active"}}),
     "scenario 1 ('s'), step 1 (expect_registry): status: Extra inputs are not permitted"),
    (one({"expect_registry": {"msisdn": "09351110002", "status": "gone"}}),
     "scenario 1 ('s'), step 1 (expect_registry): status: Input should be 'active' or 'expired'"),
    (one({"expect_registry": {"national_id": "0499370890", "device_count": 1}}),
     "scenario 1 ('s'), step 1 (expect_registry): national_id: '0499370890' is not a valid national ID"),
    (one({"expect_registry": {"status": "active"}}),
     "scenario 1 ('s'), step 1 (expect_registry): name the record: imei, msisdn or national_id"),
    (one({"send": {"from": "09361110003", "text": "{code}"}}),
     "scenario 1 ('s'), step 1 (send): uses {code} before any expect_sms with save_code: true"),
    (one(SEND, {"expect_sms": {"to": "09361110003", "matches": "{wrong_code}"}}),
     "scenario 1 ('s'), step 2 (expect_sms): uses {code} before any expect_sms with save_code"),
    (one(SEND, {"ussd_reply": {"text": "1"}}),
     "scenario 1 ('s'), step 2 (ussd_reply): no USSD dialogue is open: put a dial step before it"),
    (one({"dial": {"from": "09361110003"}}, {"ussd_reply": {"text": "1"}}),
     "scenario 1 ('s'), step 2 (ussd_reply): no expect_screen has read the screen"),
    (one({"dial": {"from": "09361110003"}}, {"expect_screen": {"matches": "x", "ends": True}},
         {"ussd_reply": {"text": "1"}}),
     "scenario 1 ('s'), step 3 (ussd_reply): the dialogue has ended"),
])  # fmt: skip
def test_a_bad_file_names_the_scenario_and_step(raw: object, message: str) -> None:
    with pytest.raises(ScenarioFileError) as caught:
        parse_scenarios(raw)
    assert str(caught.value).startswith(message), str(caught.value)


def test_code_placeholders_are_fine_once_a_code_is_saved() -> None:
    (scenario,) = parse_scenarios(one(
        SEND,
        {"expect_sms": {"to": "09361110003", "matches": "code", "save_code": True}},
        {"send": {"from": "09361110003", "text": "{wrong_code}"}},
        {"expect_sms": {"to": "09361110003", "matches": "not {code}"}},
    ))
    assert len(scenario.steps) == 4


def test_the_file_path_prefixes_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(one({"sned": {}}, name="x")), encoding="utf-8")
    with pytest.raises(ScenarioFileError, match=r"bad\.yaml: scenario 1 \('x'\), step 1: unknown step"):
        load_scenarios(bad)
    bad.write_text("- name: [unclosed", encoding="utf-8")
    with pytest.raises(ScenarioFileError, match=r"bad\.yaml: cannot read YAML"):
        load_scenarios(bad)
    with pytest.raises(ScenarioFileError, match="cannot read YAML"):
        load_scenarios(tmp_path / "missing.yaml")


@pytest.mark.parametrize(("pattern", "text", "found"), [
    ("سیم‌کارت قبلی", "شماره سیم‌کارت قبلی را", True),
    ("سیمکارت قبلی", "شماره سیم‌کارت قبلی را", True),  # the zero-width non-joiner is ignored
    ("06#", "با ‎*#06#‎", True),  # so are bidi marks
    ("IMEI.*بفرستید", "IMEI\nبفرستید", True),  # `.` spans lines
    ("imei", "IMEI", False),
    ("(?i)imei", "IMEI", True),
])  # fmt: skip
def test_matching(pattern: str, text: str, found: bool) -> None:
    assert matches(pattern, text) is found


@pytest.mark.parametrize("code", ["100000", "575553", "999999"])
def test_a_wrong_code_looks_right_but_is_not(code: str) -> None:
    wrong = wrong_code(code)
    assert wrong != code and len(wrong) == 6 and wrong[0] != "0"

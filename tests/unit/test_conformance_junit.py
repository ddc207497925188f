"""Conformance results as JUnit XML and as the terminal table, from hand-made results."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

from devtools.conformance.junit import write_junit
from devtools.conformance.report import print_report, table, tally
from devtools.conformance.results import ScenarioResult, StepResult
from devtools.conformance.runner import not_run, redact
from devtools.conformance.scenarios import Scenario, parse_scenarios

SEND = {"send": {"from": "09361110003", "text": "1"}}
SMS = {"expect_sms": {"to": "09361110003", "matches": "IMEI"}}
REGISTRY = {"expect_registry": {"imei": "490154203237518", "sim": "09361110003"}}


def scenario(name: str, *steps: dict[str, object], description: str = "") -> Scenario:
    (parsed,) = parse_scenarios([{"name": name, "description": description, "steps": list(steps)}])
    return parsed


def results() -> list[ScenarioResult]:
    passed = ScenarioResult(scenario("passes", SEND, SMS, description="Sara restores."), (
        StepResult(1, "send", "passed", "09361110003 > 7777: «1»", 0.01),
        StepResult(2, "expect_sms", "passed", "SMS to 09361110003: «IMEI…»", 0.02),
    ), 0.03)
    failed = ScenarioResult(scenario("fails & <escapes>", SEND, SMS, REGISTRY), (
        StepResult(1, "send", "passed", "09361110003 > 7777: «1»", 0.01),
        StepResult(2, "expect_sms", "failed", "no SMS to 09361110003 within 10 s", 10.0),
        StepResult(3, "expect_registry", "not run", "an earlier step failed"),
    ), 10.01)
    skipped = ScenarioResult(scenario("registry only", REGISTRY), (
        StepResult(1, "expect_registry", "skipped", "--no-registry: another registry"),), 0.0)
    return [passed, failed, skipped, not_run(scenario("never ran", SEND), "no gateway bound within 30 s")]


def test_junit_has_one_testcase_per_scenario_with_the_failing_step(tmp_path: Path) -> None:
    path = tmp_path / "reports" / "x.xml"
    write_junit(results(), path, "conformance-scenarios")
    root = ET.parse(path).getroot()
    assert path.read_bytes().startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert root.tag == "testsuites"
    assert {k: root.attrib[k] for k in ("tests", "failures", "errors", "skipped", "time")} == {
        "tests": "4", "failures": "1", "errors": "1", "skipped": "1", "time": "10.040"}
    (suite,) = root
    assert suite.tag == "testsuite" and suite.attrib["name"] == "conformance-scenarios"
    cases = {case.attrib["name"]: case for case in suite}
    assert list(cases) == ["passes", "fails & <escapes>", "registry only", "never ran"]
    assert {case.attrib["classname"] for case in cases.values()} == {"conformance.conformance-scenarios"}

    passes = cases["passes"]
    assert [child.tag for child in passes] == ["system-out"] and passes.attrib["time"] == "0.030"
    assert (passes.findtext("system-out") or "").startswith("Sara restores.\nstep 1 (send) passed")

    failure = cases["fails & <escapes>"].find("failure")
    assert failure is not None
    assert failure.attrib == {"type": "expect_sms",
                              "message": "step 2 (expect_sms): no SMS to 09361110003 within 10 s"}
    assert "step 3 (expect_registry) not run" in (failure.text or "")

    skipped = cases["registry only"].find("skipped")
    assert skipped is not None and "--no-registry" in skipped.attrib["message"]
    error = cases["never ran"].find("error")
    assert error is not None and error.attrib["message"] == "no gateway bound within 30 s"


def test_the_table_shows_outcome_time_name_and_why() -> None:
    lines = table(results())
    assert lines[0].split() == ["result", "time", "scenario", "detail"]
    assert lines[1].split() == ["pass", "0.03", "s", "passes"]
    assert lines[2].startswith("FAIL    10.01 s  fails & <escapes>")
    assert lines[2].endswith("step 2 (expect_sms): no SMS to 09361110003 within 10 s")
    assert lines[3].startswith("skip") and "1 step(s) skipped: --no-registry" in lines[3]
    assert lines[4].startswith("ERROR") and lines[4].endswith("no gateway bound within 30 s")
    assert tally(results(), Path("x.xml")) == (
        "1 passed, 1 failed, 1 skipped, 1 errors in 10.0 s; JUnit XML: x.xml")


def test_the_report_spells_out_each_failed_scenario() -> None:
    out = io.StringIO()
    print_report(results(), Path("x.xml"), out)
    text = out.getvalue()
    assert "\n--- fails & <escapes>: failed\nstep 1 (send) passed" in text
    assert "--- passes" not in text


def test_reports_mask_numbers_and_codes_and_hide_passwords() -> None:
    shown = redact("کد تأیید همتا: 482915، رمز جدید: Ab3dEfGh9k، به 09121110014")
    assert shown == "کد تأیید همتا: ***، رمز جدید: [password]، به 0912***0014"

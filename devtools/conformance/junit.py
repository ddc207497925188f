"""Conformance results as JUnit XML, the format CI systems read (Jenkins, GitLab, GitHub).

    <testsuites name="hamta-gateway conformance" tests= failures= errors= skipped= time=>
      <testsuite name="conformance-scenarios" ...>
        <testcase classname="conformance.conformance-scenarios" name="<scenario>" time="0.412">
          <failure type="expect_sms" message="step 3 (expect_sms): no SMS to 0936… within 10 s">
            every step, one line each</failure>
          <system-out>every step, one line each</system-out>
        </testcase>

One testcase per scenario: `<failure>` names the first failing step, `<error>` says why the
scenario could not run, `<skipped>` when all its steps were skipped.
"""

from __future__ import annotations

import datetime
import socket
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from devtools.conformance.results import ScenarioResult

SUITES_NAME = "hamta-gateway conformance"


def junit_tree(results: list[ScenarioResult], suite: str) -> ET.ElementTree[ET.Element | None]:
    root = ET.Element("testsuites", _counts(results), name=SUITES_NAME)
    element = ET.SubElement(root, "testsuite", _counts(results), name=suite,
                            timestamp=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                            hostname=socket.gethostname())
    for result in results:
        element.append(_testcase(result, suite))
    tree = ET.ElementTree(root)
    ET.indent(tree)
    return tree


def write_junit(results: list[ScenarioResult], path: Path, suite: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    junit_tree(results, suite).write(path, encoding="utf-8", xml_declaration=True)


def _counts(results: list[ScenarioResult]) -> dict[str, str]:
    outcomes = Counter(result.outcome for result in results)
    return {
        "tests": str(len(results)),
        "failures": str(outcomes["failed"]),
        "errors": str(outcomes["error"]),
        "skipped": str(outcomes["skipped"]),
        "time": f"{sum(result.seconds for result in results):.3f}",
    }


def _testcase(result: ScenarioResult, suite: str) -> ET.Element:
    case = ET.Element("testcase", classname=f"conformance.{suite}", name=result.scenario.name,
                      time=f"{result.seconds:.3f}")
    log = result.log()
    if result.outcome == "failed":
        failure = result.failure
        kind = failure.kind if failure is not None else "step"
        ET.SubElement(case, "failure", type=kind, message=result.summary).text = log
    elif result.outcome == "error":
        ET.SubElement(case, "error", type="not run", message=result.summary)
    elif result.outcome == "skipped":
        ET.SubElement(case, "skipped", message=result.summary)
    description = result.scenario.description
    ET.SubElement(case, "system-out").text = f"{description}\n{log}" if description else log
    return case

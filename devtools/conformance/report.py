"""Conformance results as a table for the terminal, and a one-line tally.

    result  time    scenario                                  detail
    pass    0.41 s  restore into a SIM cartable (R1, R4)
    FAIL    10.02 s lockout after 5 strikes                   step 7 (expect_sms): no SMS to 0912…
    9 passed, 1 failed, 0 skipped, 0 errors in 14.2 s; JUnit XML: conformance-results.xml
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Final, TextIO

from devtools.conformance.results import ScenarioOutcome, ScenarioResult

LABELS: Final[dict[ScenarioOutcome, str]] = {
    "passed": "pass", "failed": "FAIL", "skipped": "skip", "error": "ERROR"}
NAME_WIDTH: Final = 64


def table(results: list[ScenarioResult]) -> list[str]:
    width = min(max([len(r.scenario.name) for r in results] + [len("scenario")]), NAME_WIDTH)
    lines = [f"{'result':<7} {'time':<8} {'scenario':<{width}}  detail"]
    for result in results:
        name = result.scenario.name
        shown = name if len(name) <= width else name[: width - 1] + "…"
        line = f"{LABELS[result.outcome]:<7} {result.seconds:>5.2f} s  {shown:<{width}}  {result.summary}"
        lines.append(line.rstrip())
    return lines


def tally(results: list[ScenarioResult], junit: Path) -> str:
    outcomes = Counter(result.outcome for result in results)
    seconds = sum(result.seconds for result in results)
    return (f"{outcomes['passed']} passed, {outcomes['failed']} failed, {outcomes['skipped']} skipped, "
            f"{outcomes['error']} errors in {seconds:.1f} s; JUnit XML: {junit}")


def print_report(results: list[ScenarioResult], junit: Path, out: TextIO) -> None:
    for line in [*table(results), tally(results, junit)]:
        print(line, file=out)
    for result in results:
        if result.outcome == "failed":
            print(f"\n--- {result.scenario.name}: failed\n{result.log()}", file=out)
    out.flush()

"""What a conformance run found: one `ScenarioResult` per scenario, one `StepResult` per step.

A scenario passed when every step it ran passed (registry steps may be skipped with
`--no-registry`); it failed at its first failing step, the steps after it are "not run"; it is
an error when it could not run at all (no gateway bound); skipped when every step was skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from devtools.conformance.scenarios import Scenario

StepOutcome = Literal["passed", "failed", "skipped", "not run"]
ScenarioOutcome = Literal["passed", "failed", "skipped", "error"]


@dataclass(frozen=True, slots=True)
class StepResult:
    number: int  # from 1, as in the scenarios file's error messages
    kind: str
    outcome: StepOutcome
    detail: str  # what was seen; for a failure, what was expected too
    seconds: float = 0.0

    def line(self) -> str:
        return f"step {self.number} ({self.kind}) {self.outcome} [{self.seconds:.2f} s]: {self.detail}"


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    scenario: Scenario
    steps: tuple[StepResult, ...]
    seconds: float
    error: str = ""  # why the scenario could not run at all

    @property
    def failure(self) -> StepResult | None:
        return next((step for step in self.steps if step.outcome == "failed"), None)

    @property
    def outcome(self) -> ScenarioOutcome:
        if self.error:
            return "error"
        if self.failure is not None:
            return "failed"
        if self.steps and all(step.outcome == "skipped" for step in self.steps):
            return "skipped"
        return "passed"

    @property
    def summary(self) -> str:
        """One line: the failure (scenario, step, why), the error, or what was skipped."""
        if self.error:
            return self.error
        if (failure := self.failure) is not None:
            return f"step {failure.number} ({failure.kind}): {failure.detail}"
        skipped = [step for step in self.steps if step.outcome == "skipped"]
        if skipped:
            return f"{len(skipped)} step(s) skipped: {skipped[0].detail}"
        return ""

    def log(self) -> str:
        return "\n".join(step.line() for step in self.steps)

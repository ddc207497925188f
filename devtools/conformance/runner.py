"""Plays scenarios through an `SmscSimulator` that the gateway under test is bound to.

One scenario after another, its steps in order; the first failing step fails the scenario and
the rest are not run. Nothing sleeps: every wait is for a simulator event (a deliver_sm_resp, an
MT, a USSD screen) with a timeout, a step's `within` or `RunOptions.timeout`.

Texts are matched with `re.search` (`.` spans lines), after invisible marks (zero-width
non-joiner, bidi marks) are dropped from both the text and the regex, so `سیم‌کارت` and
`سیمکارت` match alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from redis.exceptions import RedisError

from devtools.conformance import registry_check
from devtools.conformance.registry_check import RegistryReader, local
from devtools.conformance.results import ScenarioResult, StepOutcome, StepResult
from devtools.conformance.scenarios import Scenario
from devtools.conformance.steps import (
    CODE,
    WRONG_CODE,
    Dial,
    ExpectDevice,
    ExpectPerson,
    ExpectScreen,
    ExpectSim,
    ExpectSms,
    Send,
    Step,
    UssdReply,
)
from flows.password import PASSWORD_ALPHABET, PASSWORD_LENGTH
from gateway.logging_setup import mask_text
from smpp.errors import NoReceiverBound, UssdStateError
from smpp.sim import SmscSimulator, UssdDialogue
from smpp.wire import Status

log = logging.getLogger("devtools.conformance")
_CODE: Final = re.compile(r"(?<![0-9])[1-9][0-9]{5}(?![0-9])")
_INVISIBLE: Final = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_GATEWAY_GONE: Final = (NoReceiverBound, ConnectionError)


@dataclass(frozen=True, slots=True)
class RunOptions:
    shortcode: str
    ussd_code: str
    timeout: float = 10.0  # for an expectation without `within`, and for deliver_sm_resp
    registry: RegistryReader | None = None
    registry_skipped: str = "registry checks are off"  # the reason, when `registry` is None


class StepFailed(Exception):
    """The step did not go as the scenario says; the message says what was seen."""


class StepSkipped(Exception):
    """The step cannot be checked in this run; the message says why."""


async def play_all(
    sim: SmscSimulator, scenarios: list[Scenario], options: RunOptions
) -> list[ScenarioResult]:
    return [await play(sim, scenario, options) for scenario in scenarios]


async def play(sim: SmscSimulator, scenario: Scenario, options: RunOptions) -> ScenarioResult:
    loop = asyncio.get_running_loop()
    started = loop.time()
    player = _Player(sim, options)
    results: list[StepResult] = []
    for number, step in enumerate(scenario.steps, 1):
        if any(result.outcome == "failed" for result in results):
            results.append(StepResult(number, step.kind, "not run", "an earlier step failed"))
        else:
            results.append(await player.run(number, step))
    await player.hang_up()
    return ScenarioResult(scenario, tuple(results), loop.time() - started)


def not_run(scenario: Scenario, reason: str) -> ScenarioResult:
    steps = tuple(StepResult(n, step.kind, "not run", reason) for n, step in enumerate(scenario.steps, 1))
    return ScenarioResult(scenario, steps, 0.0, error=reason)


def matches(pattern: str, text: str) -> bool:
    return re.search(_INVISIBLE.sub("", pattern), _INVISIBLE.sub("", text), re.DOTALL) is not None


def wrong_code(code: str) -> str:
    """A valid-looking code (6 digits, no leading 0) that is not `code`."""
    return str((int(code) - 100_000 + 1) % 900_000 + 100_000)


# A cartable password as flows/password.py draws them: 10 characters of its alphabet, with a digit.
_PASSWORD = re.compile(
    rf"(?<![A-Za-z0-9])(?=[A-Za-z0-9]*[0-9])[{re.escape(PASSWORD_ALPHABET)}]{{{PASSWORD_LENGTH}}}(?![A-Za-z0-9])")


def redact(text: str) -> str:
    """What the reports may show: numbers and codes masked (as in logs), passwords hidden, so a
    JUnit file can be shared with the SMSC vendor."""
    return mask_text(_PASSWORD.sub("[password]", text))


class _Player:
    """One scenario's state: the last saved code and the open USSD dialogue."""

    def __init__(self, sim: SmscSimulator, options: RunOptions) -> None:
        self._sim, self._options = sim, options
        self._code = ""
        self._dialogue: UssdDialogue | None = None

    async def run(self, number: int, step: Step) -> StepResult:
        loop = asyncio.get_running_loop()
        started = loop.time()
        outcome: StepOutcome = "passed"
        try:
            detail = await self._do(step)
        except StepSkipped as exc:
            outcome, detail = "skipped", str(exc)
        except StepFailed as exc:
            outcome, detail = "failed", str(exc)
        return StepResult(number, step.kind, outcome, redact(detail), loop.time() - started)

    async def _do(self, step: Step) -> str:
        match step:
            case Send():
                return await self._send(step)
            case ExpectSms():
                return await self._expect_sms(step)
            case Dial():
                return await self._dial(step)
            case UssdReply():
                return await self._ussd_reply(step)
            case ExpectScreen():
                return await self._expect_screen(step)
            case ExpectDevice() | ExpectSim() | ExpectPerson():
                return await self._expect_registry(step)

    def _fill(self, text: str) -> str:
        if CODE not in text and WRONG_CODE not in text:
            return text
        return text.replace(CODE, self._code).replace(WRONG_CODE, wrong_code(self._code))

    def _within(self, within: float | None) -> float:
        return within if within is not None else self._options.timeout

    async def _send(self, step: Send) -> str:
        text, to = self._fill(step.text), step.to or self._options.shortcode
        with _delivering("MO", self._options.timeout):
            statuses = await self._sim.send_mo(step.sender, to, text, timeout=self._options.timeout)
        refused = [status.name for status in statuses if status is not Status.ESME_ROK]
        if refused:
            raise StepFailed(f"the gateway answered the MO with {', '.join(refused)}")
        return f"{local(step.sender)} > {to}: {_quoted(text)}"

    async def _expect_sms(self, step: ExpectSms) -> str:
        within, pattern = self._within(step.within), self._fill(step.matches)
        try:
            mt = await self._sim.await_mt(step.to, timeout=within)
        except TimeoutError as exc:
            raise StepFailed(f"no SMS to {local(step.to)} within {within:g} s "
                             f"(expected one matching /{pattern}/)") from exc
        seen = f"SMS to {local(step.to)}: {_quoted(mt.text)}"
        if not matches(pattern, mt.text):
            raise StepFailed(f"{seen} does not match /{pattern}/")
        if step.save_code:
            found = _CODE.search(mt.text)
            if found is None:
                raise StepFailed(f"{seen} holds no 6-digit code to save")
            self._code = found.group()
        return seen

    async def _dial(self, step: Dial) -> str:
        await self.hang_up()
        code = step.code or self._options.ussd_code
        with _delivering("USSD begin", self._options.timeout):
            self._dialogue = await self._sim.ussd_start(step.sender, code, self._options.timeout)
        _check_status(self._dialogue, "USSD begin")
        return f"{local(step.sender)} dials {code}"

    async def _ussd_reply(self, step: UssdReply) -> str:
        dialogue, text = self._open_dialogue(), self._fill(step.text)
        with _delivering("USSD answer", self._options.timeout):
            await dialogue.reply(text, self._options.timeout)
        _check_status(dialogue, "USSD answer")
        return f"{local(dialogue.msisdn)} answers {_quoted(text)}"

    async def _expect_screen(self, step: ExpectScreen) -> str:
        dialogue, within, pattern = self._open_dialogue(), self._within(step.within), self._fill(step.matches)
        try:
            screen = await dialogue.screen(within)
        except TimeoutError as exc:
            raise StepFailed(f"no USSD screen within {within:g} s "
                             f"(expected one matching /{pattern}/)") from exc
        seen = f"screen ({'ends' if screen.ends else 'waits for input'}): {_quoted(screen.text)}"
        if not matches(pattern, screen.text):
            raise StepFailed(f"{seen} does not match /{pattern}/")
        if step.ends is not None and screen.ends != step.ends:
            expected = "to end the dialogue" if step.ends else "to wait for input"
            raise StepFailed(f"{seen}; expected it {expected}")
        return seen

    async def _expect_registry(self, step: ExpectDevice | ExpectSim | ExpectPerson) -> str:
        reader = self._options.registry
        if reader is None:
            raise StepSkipped(self._options.registry_skipped)
        try:
            found, problems = await registry_check.check(reader, step)
        except (RedisError, OSError) as exc:
            raise StepFailed(f"cannot read the registry through redis.url ({exc!r}); if the gateway "
                             "under test uses another registry, run with --no-registry") from exc
        if problems:
            raise StepFailed(f"{found}; {'; '.join(problems)}")
        return found

    def _open_dialogue(self) -> UssdDialogue:
        if self._dialogue is None:
            raise StepFailed("no USSD dialogue is open")
        return self._dialogue

    async def hang_up(self) -> None:
        """End an open dialogue as a subscriber would, so the next dial starts afresh."""
        dialogue, self._dialogue = self._dialogue, None
        if dialogue is not None and dialogue.state == "user":
            try:
                await dialogue.abort(self._options.timeout)
            except (*_GATEWAY_GONE, TimeoutError, UssdStateError) as exc:
                log.debug("hanging up: %r; the dialogue is over on this side anyway", exc)


@contextlib.contextmanager
def _delivering(what: str, timeout: float) -> Iterator[None]:
    """A deliver_sm to the gateway: its failures as the step's."""
    try:
        yield
    except UssdStateError as exc:
        raise StepFailed(f"cannot send the {what}: {exc}") from exc
    except _GATEWAY_GONE as exc:
        raise StepFailed(f"no gateway bound to take the {what} ({exc})") from exc
    except TimeoutError as exc:
        raise StepFailed(f"no deliver_sm_resp to the {what} within {timeout:g} s") from exc


def _check_status(dialogue: UssdDialogue, what: str) -> None:
    if dialogue.status is not Status.ESME_ROK:
        name = dialogue.status.name if dialogue.status is not None else "nothing"
        raise StepFailed(f"the gateway answered the {what} with {name}")


def _quoted(text: str) -> str:
    return "«" + text.replace("\n", " / ") + "»"

"""What a turn came to (flows/outcomes.py): flow, step, outcome and the procedures it ended,
for the dialogs that matter to an operator, driven directly (no SMPP, the registry in memory)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flows.dialog import Dialog
from flows.dialog_types import FlowConfig
from flows.memory_registry import MemoryRegistry
from flows.outcomes import TurnOutcome
from flows.session import Subscriber
from flows.ussd import UssdDialog
from tests.harness import (
    ALI,
    ALI_DEVICE,
    LOST_SIM_ID,
    LOST_SIM_NEW,
    R6_ID,
    R6_NEW,
    SARA_DEVICE,
    SARA_NEW,
)

CONFIG = FlowConfig(codes_per_hour=1)
T0 = 1_800_000_000.0
CODE = re.compile(r"\b[1-9][0-9]{5}\b")


@dataclass
class Chat:
    dialog: Dialog
    subscriber: Subscriber
    now: float = T0
    code: str = ""
    outcomes: list[TurnOutcome] = field(default_factory=list)

    async def say(self, text: str, after: float = 1.0) -> TurnOutcome:
        self.now += after
        result = await self.dialog.turn(self.subscriber, text.replace("{code}", self.code), "m", self.now)
        for reply in result.replies:
            if reply.kind == "code" and (found := CODE.search(reply.text)):
                self.code = found.group()
        self.outcomes.append(result.outcome)
        return result.outcome


def chat(registry: MemoryRegistry, msisdn: str, config: FlowConfig = CONFIG) -> Chat:
    return Chat(Dialog(registry, config), Subscriber(msisdn=msisdn))


def short(outcome: TurnOutcome) -> tuple[str, str, str]:
    return outcome.flow, outcome.step, outcome.outcome


async def test_a_restore_turn_by_turn(registry: MemoryRegistry) -> None:
    sara = chat(registry, SARA_NEW)
    assert short(await sara.say("hello")) == ("none", "none", "menu")
    assert short(await sara.say("1")) == ("restore", "start", "advanced")
    assert short(await sara.say("12345")) == ("restore", "ask_imei", "invalid")
    assert short(await sara.say(SARA_DEVICE)) == ("restore", "ask_imei", "advanced")
    assert short(await sara.say("09351110002")) == ("restore", "ask_old_number", "code_sent")
    done = await sara.say("{code}")
    assert short(done) == ("restore", "ask_code", "restored")
    assert done.recoveries == (("restore", "restored"),)
    assert all(not o.recoveries for o in sara.outcomes[:-1])


async def test_an_imei_as_first_message_opens_the_flow(registry: MemoryRegistry) -> None:
    assert short(await chat(registry, SARA_NEW).say(SARA_DEVICE)) == ("restore", "start", "advanced")


async def test_refusals_and_endings(registry: MemoryRegistry) -> None:
    ali = chat(registry, ALI)  # the device is in his own national-ID cartable: R2
    await ali.say("1")
    await ali.say(ALI_DEVICE)
    refused = await ali.say("09121110001")
    assert refused.outcome == "refused_r2" and refused.recoveries == (("restore", "refused_r2"),)

    r6 = chat(registry, R6_NEW)
    for text in ("2", R6_ID):
        await r6.say(text)
    assert (await r6.say("1380-12-29")).recoveries == (("password", "refused_r6"),)

    cancelled = chat(registry, SARA_NEW)
    await cancelled.say("1")
    assert (await cancelled.say("لغو")).recoveries == (("restore", "cancelled"),)


async def test_mismatches_then_the_final_one(registry: MemoryRegistry) -> None:
    sara = chat(registry, SARA_NEW)
    await sara.say("1")
    for left in (2, 1):
        await sara.say(SARA_DEVICE)
        assert short(await sara.say("09131110005")) == ("restore", "ask_old_number", "mismatch"), left
    await sara.say(SARA_DEVICE)
    final = await sara.say("09131110005")
    assert final.outcome == "mismatch" and final.recoveries == (("restore", "mismatch"),)


async def test_a_password_recovery_and_the_code_limit(registry: MemoryRegistry) -> None:
    lost = chat(registry, LOST_SIM_NEW)
    for text in ("2", LOST_SIM_ID, "1368/02/20"):
        await lost.say(text)
    assert (await lost.say("{code}")).recoveries == (("password", "password_reset"),)
    # codes_per_hour is 1 here: the next code request in the hour is refused by the limit
    for text in ("2", LOST_SIM_ID):
        await lost.say(text)
    limited = await lost.say("1368/02/20")
    assert (limited.outcome, limited.limit) == ("rate_limited", "codes_per_hour")
    assert limited.recoveries == (("password", "rate_limited"),)


async def test_an_expired_session_is_counted_when_the_number_comes_back(registry: MemoryRegistry) -> None:
    sara = chat(registry, SARA_NEW)
    await sara.say("1")
    back = await sara.say("1", after=CONFIG.session_idle_seconds + 1)
    assert back.recoveries == (("restore", "expired"),)
    assert short(back) == ("restore", "start", "advanced")  # and a new one begins


async def test_a_requester_not_eligible(registry: MemoryRegistry) -> None:
    stranger = chat(registry, "989121119999")
    refused = await stranger.say("1")
    assert refused.recoveries == (("restore", "not_eligible"),) and refused.flow == "restore"


async def test_ussd_screens_say_where_they_stood(registry: MemoryRegistry) -> None:
    ussd, subscriber = UssdDialog(Dialog(registry, CONFIG)), Subscriber(msisdn=SARA_NEW)
    menu = await ussd.handle(subscriber, "*7777#", "begin", "m0", T0)
    assert menu is not None and short(menu.outcome) == ("none", "none", "menu")
    asked = await ussd.handle(subscriber, "1", "continue", "m1", T0 + 1)
    assert asked is not None and short(asked.outcome) == ("restore", "start", "advanced")


async def test_the_lockout_is_counted_as_a_locked_recovery(registry: MemoryRegistry) -> None:
    sara = chat(registry, SARA_NEW)
    for _ in range(CONFIG.lockout_strikes):  # a wrong old number: a strike each time
        await sara.say(SARA_DEVICE)
        last = await sara.say("09121110004")
    assert last.recoveries == (("restore", "locked"),)

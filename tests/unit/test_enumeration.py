"""No enumeration (DESIGN.md §1, "generic mismatch"): a wrong detail reveals nothing about which.

Each group below holds attempts that fail for different reasons (an unknown IMEI, a known IMEI
with a wrong old number, the right old number from a recycled number's new owner, …). Played by
the same requester, every attempt must read exactly alike: the same texts, the same number of
replies, the same session end, over SMS and over USSD, in Persian and in English. Each attempt is
repeated until the session runs out of attempts, so the counting is compared too. The real
catalog renders the texts; the registry is the demo registry in memory.
"""

from __future__ import annotations

import pytest

from flows.dialog import Dialog
from flows.dialog_types import FlowConfig
from flows.memory_registry import MemoryRegistry
from flows.session import Subscriber
from flows.ussd import UssdDialog
from tests.harness import (
    ALI_DEVICE,
    ALI_ID,
    LOST_SIM_ID,
    NEW_OWNER,
    RECYCLED_DEVICE,
    SARA_DEVICE,
    memory_registry,
)

CONFIG = FlowConfig()
T0 = 1_800_000_000.0
UNKNOWN_IMEI = "353322110000552"  # Luhn-valid, in no cartable
UNKNOWN_NATIONAL_ID = "1234567891"  # valid check digit, no such person
ROUNDS = CONFIG.max_mismatches_per_session  # until the session has no attempts left

# (start word, [(first input, second input), ...]): one attempt's two details each.
RESTORE_ATTEMPTS = {
    "unknown IMEI": (UNKNOWN_IMEI, "09351110002"),
    "known IMEI, wrong old number": (SARA_DEVICE, "09121110004"),
    "right old number, recycled: not the owner": (RECYCLED_DEVICE, "09121110004"),
    "someone else's national-ID cartable device": (ALI_DEVICE, "09121110001"),
}
PASSWORD_ATTEMPTS = {
    "unknown national ID": (UNKNOWN_NATIONAL_ID, "1370/05/12"),
    "wrong birth date": (LOST_SIM_ID, "1368/02/21"),
    "right details, requester is not the person": (LOST_SIM_ID, "1368/02/20"),
    "another person's cartable, right details": (ALI_ID, "1365/04/12"),
    "requester's own national ID, no cartable": ("0061234567", "1362/11/30"),
}
GROUPS = {"restore": ("1", RESTORE_ATTEMPTS), "password": ("2", PASSWORD_ATTEMPTS)}
REQUESTER = NEW_OWNER  # 0061234567's active SIM: eligible, owns nothing of the above


async def sms_transcript(lang: str, start: str, attempt: tuple[str, str]) -> list[list[str]]:
    """Every reply text of every turn, one attempt repeated until the session ends."""
    registry = memory_registry()
    dialog, subscriber = Dialog(registry, CONFIG), Subscriber(msisdn=REQUESTER)
    now, seen = T0, []
    for text in [lang, start] + list(attempt) * ROUNDS + ["1"]:
        now += 1
        seen.append([reply.text for reply in await dialog.handle(subscriber, text, f"m{now}", now)])
    assert not registry.audit  # nothing changed
    return seen


async def ussd_transcript(lang: str, start: str, attempt: tuple[str, str]) -> list[object]:
    """Every screen (text, end, its SMS) of one dialogue, the attempt repeated as above."""
    registry = memory_registry()
    ussd, subscriber = UssdDialog(Dialog(registry, CONFIG)), Subscriber(msisdn=REQUESTER)
    now, seen = T0, []
    sms_dialog = Dialog(registry, CONFIG)
    await sms_dialog.handle(subscriber, lang, "lang", now)  # the language is set by SMS
    turns = [("*7777#", "begin"), (start, "continue")] + [(t, "continue") for t in attempt] * ROUNDS
    turns += [("#", "continue")] * 3  # the last screen may be paged: read it to its end
    for text, event in turns:
        now += 1
        screen = await ussd.handle(subscriber, text, event, f"u{now}", now)
        seen.append(None if screen is None else (screen.text, screen.end, [s.text for s in screen.sms]))
        if screen is None or screen.end:
            break
    assert not registry.audit
    return seen


@pytest.mark.parametrize("lang", ["FA", "EN"])
@pytest.mark.parametrize("flow", GROUPS)
async def test_sms_mismatches_read_alike(flow: str, lang: str) -> None:
    start, attempts = GROUPS[flow]
    transcripts = {name: await sms_transcript(lang, start, attempt) for name, attempt in attempts.items()}
    first_name, first = next(iter(transcripts.items()))
    for name, transcript in transcripts.items():
        assert transcript == first, f"{name!r} differs from {first_name!r}"
    assert first[-1] != first[-2]  # the session did end: the last message starts afresh


@pytest.mark.parametrize("lang", ["FA", "EN"])
@pytest.mark.parametrize("flow", GROUPS)
async def test_ussd_mismatches_read_alike(flow: str, lang: str) -> None:
    start, attempts = GROUPS[flow]
    transcripts = {name: await ussd_transcript(lang, start, attempt) for name, attempt in attempts.items()}
    first_name, first = next(iter(transcripts.items()))
    for name, transcript in transcripts.items():
        assert transcript == first, f"{name!r} differs from {first_name!r}"
    assert first[-1] is not None and first[-1][1]  # type: ignore[index]  # the dialogue ended


async def test_the_attempts_are_mismatches_not_validation_errors(registry: MemoryRegistry) -> None:
    """Guard the premise: each attempt reaches the registry check (a mismatch reply)."""
    for start, attempts in GROUPS.values():
        for name, attempt in attempts.items():
            dialog, subscriber = Dialog(registry, CONFIG), Subscriber(msisdn=REQUESTER)
            for i, text in enumerate([start, *attempt]):
                replies = await dialog.handle(subscriber, text, f"m{i}", T0 + i)
            assert [r.key for r in replies] in (["mismatch"], ["password_mismatch"]), name

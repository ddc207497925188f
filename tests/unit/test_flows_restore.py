"""The restore dialog, driven directly (no SMPP): every branch as a table of turns.

Replies are rendered by a catalog whose texts are their keys, so each row lists the keys a
subscriber sees. The registry is the demo registry in memory (tests/unit/conftest.py); the
contract test shows it behaves as the Redis one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import pytest

from flows.dialog import Dialog
from flows.dialog_types import FlowConfig, Reply
from flows.memory_registry import MemoryRegistry
from flows.ports import RestoreMove
from flows.session import Subscriber
from tests.harness import (
    ALI,
    ALI_DEVICE,
    ATTACHED_DEVICE,
    ATTACHED_SIM,
    CARTABLE_DEVICE,
    CARTABLE_SIM,
    HERE_DEVICE,
    NEW_OWNER,
    RECYCLED,
    RECYCLED_DEVICE,
    SARA_DEVICE,
    SARA_NEW,
    SARA_OLD,
    key_catalog,
)

CONFIG = FlowConfig()
T0 = 1_800_000_000.0


@dataclass
class Chat:
    """One subscriber talking to the dialog; `{code}` in an input is the last code received."""

    dialog: Dialog
    subscriber: Subscriber
    now: float = T0
    code: str = ""
    seen: list[list[str]] = field(default_factory=list)

    async def say(self, text: str, after: float = 1.0) -> list[str]:
        self.now += after
        text = text.replace("{code}", self.code)
        replies = await self.dialog.handle(self.subscriber, text, f"m{len(self.seen)}", self.now)
        self._remember_code(replies)
        # a notice opens the reply on its own line: each line's first word is a key
        keys = [line.split()[0] for reply in replies for line in reply.text.split("\n")]
        self.seen.append(keys)
        return keys

    def _remember_code(self, replies: list[Reply]) -> None:
        for reply in replies:
            if reply.kind == "code":
                self.code = re.findall(r"[0-9]{6}", reply.text)[0]


def chat(registry: MemoryRegistry, msisdn: str, config: FlowConfig = CONFIG) -> Chat:
    return Chat(Dialog(registry, config, key_catalog()), Subscriber(msisdn=msisdn))


CODE = "{code}"
TABLE = [
    ("restore into the requester's SIM cartable", SARA_NEW,
     [("1", ["ask_imei"]), (SARA_DEVICE, ["ask_old_number"]), ("09351110002", ["code_restore"]),
      (CODE, ["restored_to_sim"])]),
    ("first message is an IMEI, Persian digits and dashes", SARA_NEW,
     [("۴۹۰۱۵۴-۲۰۳۲۳۷-۵۱۸", ["ask_old_number"]), ("+98 935 111 0002", ["code_restore"]),
      (CODE, ["restored_to_sim"])]),
    ("into the owner's national-ID cartable", CARTABLE_SIM,
     [("بازیابی", ["ask_imei"]), (CARTABLE_DEVICE, ["ask_old_number"]), ("09351110008", ["code_restore"]),
      (CODE, ["restored_to_national_id"])]),
    ("R2: own national-ID cartable", ALI,
     [("1", ["ask_imei"]), (ALI_DEVICE, ["ask_old_number"]), ("09121110001", ["in_own_national_id_cartable"]),
      ("x", ["menu"])]),
    ("someone else's national-ID device is a generic mismatch", SARA_NEW,
     [(ALI_DEVICE, ["ask_old_number"]), ("09121110001", ["mismatch"])]),
    ("already in this SIM's cartable", SARA_NEW,
     [(HERE_DEVICE, ["ask_old_number"]), ("09361110003", ["already_here"])]),
    ("still attached to another active SIM of the owner", SARA_NEW,
     [(ATTACHED_DEVICE, ["ask_old_number"]), ("09131110005", ["still_in_other_cartable"])]),
    ("a recycled number's new owner cannot pull the old owner's device", NEW_OWNER,
     [(RECYCLED_DEVICE, ["ask_old_number"]), ("09121110004", ["mismatch"])]),
    ("the previous owner can, from her own SIM", SARA_NEW,
     [(RECYCLED_DEVICE, ["ask_old_number"]), ("09121110004", ["code_restore"]), (CODE, ["restored_to_sim"])]),
    ("wrong old number, then right", SARA_NEW,
     [(SARA_DEVICE, ["ask_old_number"]), ("09121110004", ["mismatch"]), (SARA_DEVICE, ["ask_old_number"]),
      ("09351110002", ["code_restore"])]),
    ("unknown IMEI is a mismatch only after the old number", SARA_NEW,
     [("353322110000552", ["ask_old_number"]), ("09351110002", ["mismatch"])]),
    ("expired requester SIM", SARA_OLD, [("1", ["requester_not_eligible"])]),
    ("unknown requester", "989990000001", [(SARA_DEVICE, ["requester_not_eligible"])]),
    ("IMEI with a wrong check digit", SARA_NEW,
     [("1", ["ask_imei"]), ("490154203237519", ["imei_checksum"]), ("12345", ["imei_length"]),
      ("hello", ["too_many_invalid"]), ("x", ["menu"])]),
    ("invalid numbers", SARA_NEW,
     [(SARA_DEVICE, ["ask_old_number"]), ("02188776655", ["number_invalid"]),
      ("0912", ["number_invalid"]), ("abc", ["too_many_invalid"])]),
    ("three mismatches end the session", SARA_NEW,
     [(SARA_DEVICE, ["ask_old_number"]), ("09121110004", ["mismatch"]), (SARA_DEVICE, ["ask_old_number"]),
      ("09121110004", ["mismatch"]), (SARA_DEVICE, ["ask_old_number"]), ("09121110004", ["mismatch_final"])]),
    ("wrong codes", SARA_NEW,
     [(SARA_DEVICE, ["ask_old_number"]), ("09351110002", ["code_restore"]), ("123456", ["code_wrong"]),
      ("12", ["code_malformed"]), (CODE, ["restored_to_sim"])]),
    ("resend with دوباره, at most three codes", SARA_NEW,
     [(SARA_DEVICE, ["ask_old_number"]), ("09351110002", ["code_restore"]), ("دوباره", ["code_restore"]),
      ("again", ["code_restore"]), ("AGAIN", ["code_resend_limit"])]),
    ("again outside the code step", SARA_NEW, [("1", ["ask_imei"]), ("دوباره", ["nothing_to_resend"])]),
    ("cancel anywhere", SARA_NEW,
     [(SARA_DEVICE, ["ask_old_number"]), ("لغو", ["cancelled"]), ("09351110002", ["menu"])]),
    ("cancel with 0 in Persian digits", SARA_NEW, [("1", ["ask_imei"]), ("۰", ["cancelled"])]),
    ("help for the current step", SARA_NEW,
     [("1", ["ask_imei"]), ("راهنما", ["help_ask_imei"]), (SARA_DEVICE, ["ask_old_number"]),
      ("?", ["help_ask_old_number"])]),
    ("menu and help without a session", SARA_NEW,
     [("salam", ["menu"]), ("3", ["help"]), ("؟", ["help"]), ("2", ["ask_national_id"])]),
    ("language switch keeps the session", SARA_NEW,
     [("1", ["ask_imei"]), ("EN", ["language_set", "ask_imei"]), (SARA_DEVICE, ["ask_old_number"]),
      ("fa", ["language_set", "ask_old_number"])]),
    ("a language switch without a session shows the menu again", SARA_NEW,
     [("salam", ["menu"]), ("EN", ["language_set", "menu"]), ("1", ["ask_imei"])]),
    ("a language switch at the code step asks for the code again", SARA_NEW,
     [("1", ["ask_imei"]), (SARA_DEVICE, ["ask_old_number"]), ("09351110002", ["code_restore"]),
      ("EN", ["language_set", "ask_code"]), (CODE, ["restored_to_sim"])]),
]


@pytest.mark.parametrize(("title", "msisdn", "turns"), TABLE, ids=[row[0] for row in TABLE])
async def test_restore_dialog(
    registry: MemoryRegistry, title: str, msisdn: str, turns: list[tuple[str, list[str]]]
) -> None:
    talk = chat(registry, msisdn)
    for text, expected in turns:
        assert await talk.say(text) == expected, f"after {text!r} in {talk.seen}"


async def test_confirmed_restore_moves_the_device_once(registry: MemoryRegistry) -> None:
    talk = chat(registry, SARA_NEW)
    for text in ("1", SARA_DEVICE, "09351110002"):
        await talk.say(text)
    before_confirm = talk.subscriber.model_copy(deep=True)
    assert await talk.say(CODE) == ["restored_to_sim"]
    # The confirming message is processed again from the same state (its commit was lost).
    talk.subscriber = before_confirm
    assert await talk.say(CODE) == ["restored_to_sim"]
    device = await registry.device(SARA_DEVICE)
    assert (device.sim, device.registered_owner) == (SARA_NEW, "1583250689")
    (change,) = registry.audit  # applied once
    assert isinstance(change, RestoreMove) and change.imei == SARA_DEVICE and change.operation_id


async def test_no_registry_change_before_the_code(registry: MemoryRegistry) -> None:
    talk = chat(registry, SARA_NEW)
    for text in ("1", SARA_DEVICE, "09351110002", "111111"):
        await talk.say(text)
    device = await registry.device(SARA_DEVICE)
    assert device.sim == SARA_OLD


async def test_registry_changed_meanwhile_is_a_conflict(registry: MemoryRegistry) -> None:
    first, second = chat(registry, SARA_NEW), chat(registry, RECYCLED)
    for text in (RECYCLED_DEVICE, "09121110004"):
        await first.say(text)
    device = await registry.device(RECYCLED_DEVICE)
    assert device is not None
    registry.put_device(replace(device, sim=ATTACHED_SIM))  # another process moved it meanwhile
    assert await first.say(CODE) == ["restore_conflict"]
    assert second.seen == []


async def test_expired_code(registry: MemoryRegistry) -> None:
    talk = chat(registry, SARA_NEW)
    for text in (SARA_DEVICE, "09351110002"):
        await talk.say(text)
    assert await talk.say(CODE, after=CONFIG.code_ttl_seconds + 1) == ["code_expired"]
    assert await talk.say("دوباره") == ["code_restore"]
    assert await talk.say(CODE) == ["restored_to_sim"]


async def test_idle_session_starts_afresh_and_says_so(registry: MemoryRegistry) -> None:
    talk = chat(registry, SARA_NEW)
    await talk.say(SARA_DEVICE)
    assert await talk.say("09351110002", after=CONFIG.session_idle_seconds + 1) == [
        "session_expired", "menu"]
    assert talk.subscriber.session is None


async def test_lockout_after_five_strikes_in_a_day(registry: MemoryRegistry) -> None:
    talk = chat(registry, SARA_NEW)
    outcomes = []
    for _ in range(5):
        outcomes += await talk.say(SARA_DEVICE) + await talk.say("09121110004")
    assert outcomes[-1] == "locked"
    assert await talk.say("1") == ["locked"]
    assert await talk.say("1", after=CONFIG.lockout_seconds) == ["ask_imei"]


async def test_strikes_older_than_the_window_do_not_count(registry: MemoryRegistry) -> None:
    talk = chat(registry, SARA_NEW)
    for _ in range(4):
        await talk.say(SARA_DEVICE)
        await talk.say("09121110004", after=CONFIG.lockout_seconds / 4)
    assert all("locked" not in keys for keys in talk.seen)


async def test_code_is_stored_only_hashed(registry: MemoryRegistry) -> None:
    talk = chat(registry, SARA_NEW)
    for text in (SARA_DEVICE, "09351110002"):
        await talk.say(text)
    assert talk.code and talk.code[0] != "0"
    assert talk.code not in talk.subscriber.model_dump_json()


async def test_real_catalog_replies_are_persian_by_default(registry: MemoryRegistry) -> None:
    dialog = Dialog(registry, CONFIG)
    replies = await dialog.handle(Subscriber(msisdn=SARA_NEW), "1", "m1", T0)
    assert "IMEI" in replies[0].text and "۱۵" in replies[0].text


async def test_lookups_that_reveal_a_device_home_are_rationed(registry: MemoryRegistry) -> None:
    talk = chat(registry, SARA_NEW)
    outcomes = []
    for _ in range(CONFIG.lockout_strikes):
        outcomes += await talk.say(ATTACHED_DEVICE) + await talk.say("09131110005")
    assert outcomes[-1] == "locked" and outcomes.count("still_in_other_cartable") == 4


async def test_a_language_switch_does_not_revive_an_expired_session(registry: MemoryRegistry) -> None:
    talk = chat(registry, SARA_NEW)
    await talk.say("1")
    assert await talk.say("EN", after=CONFIG.session_idle_seconds + 1) == ["session_expired", "menu"]
    assert talk.subscriber.session is None


@pytest.mark.parametrize("word", ["لغو.", "cancel!", "۰"])
async def test_keywords_with_end_punctuation(registry: MemoryRegistry, word: str) -> None:
    talk = chat(registry, SARA_NEW)
    await talk.say("1")
    assert await talk.say(word) == ["cancelled"]


async def test_a_session_the_store_let_expire_is_still_announced(registry: MemoryRegistry) -> None:
    talk = chat(registry, SARA_NEW)
    await talk.say("1")
    await talk.say(SARA_DEVICE)
    talk.subscriber.session = None  # its record expired (the idle TTL); the subscriber's did not
    assert await talk.say("2", after=CONFIG.session_idle_seconds + 1) == ["session_expired",
                                                                          "ask_national_id"]
    assert await talk.say("0") == ["cancelled"]
    assert talk.subscriber.session_seen_at == 0


async def test_codes_per_number_are_limited_across_sessions(registry: MemoryRegistry) -> None:
    """20 code requests (new sessions and resends): 3 codes in the hour, 6 in the day, and then
    a clear wait, never a code."""
    talk = chat(registry, SARA_NEW)
    codes = 0
    for hour in range(4):
        for _ in range(5):  # 5 requests each hour, 20 in all
            await talk.say("0")
            await talk.say("1", after=60)
            await talk.say(SARA_DEVICE)
            keys = await talk.say(SARA_OLD)
            codes += keys.count("code_restore")
            assert keys in (["code_restore"], ["code_limit_minutes"], ["code_limit_hours"])
        talk.now += 3600 * (hour + 1) - (talk.now - T0)
        assert codes == min(3 * (hour + 1), 6)
    assert talk.seen[-1] == ["code_limit_hours"]  # the day's 6 are used: hours to wait


async def test_the_lockout_keeps_a_count_and_a_time_only(registry: MemoryRegistry) -> None:
    talk = chat(registry, SARA_NEW)
    for _ in range(2):
        await talk.say(SARA_DEVICE)
        await talk.say("09121110004")
    record = talk.subscriber.model_dump()
    assert record["strikes"] == 2 and isinstance(record["strikes_since"], float)
    assert Subscriber.model_validate({"msisdn": SARA_NEW, "strikes": [T0, T0 + 5]}).strikes == 2

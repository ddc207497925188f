"""The cartable-password dialog (R3, R5, R6), driven directly: every outcome as a table."""

from __future__ import annotations

import secrets
from collections import Counter

import pytest

from flows.codes import code_matches, hash_code
from flows.dialog_types import Reply
from flows.memory_registry import MemoryRegistry
from flows.password import PASSWORD_ALPHABET, operation_password
from flows.password_hash import verify_password
from flows.ports import PasswordChange
from tests.harness import (
    ALI,
    ALI_ID,
    LOST_SIM_ID,
    LOST_SIM_NEW,
    R6_ID,
    R6_NEW,
    SARA_NEW,
    TRANSFERRED_ID,
    TRANSFERRED_NEW,
)
from tests.unit.test_flows_restore import CODE, Chat, chat

TABLE = [
    ("requester already usable: new password only", ALI,
     [("2", ["ask_national_id"]), (ALI_ID, ["ask_birth_date"]), ("1365/04/12", ["code_password"]),
      (CODE, ["password_reset", "password_sms"])]),
    ("only SIM expired: add the requester (R3)", LOST_SIM_NEW,
     [("رمز", ["ask_national_id"]), ("۵۵۱۲۳۴۵۶۷۲", ["ask_birth_date"]), ("۱۳۶۸/۲/۲۰", ["code_password"]),
      (CODE, ["password_reset_sim_added", "password_sms"])]),
    ("only SIM transferred: add the requester", TRANSFERRED_NEW,
     [("password", ["ask_national_id"]), (TRANSFERRED_ID, ["ask_birth_date"]), ("59/9/30", ["code_password"]),
      (CODE, ["password_reset_sim_added", "password_sms"])]),
    ("another cartable SIM still usable: R6 refusal", R6_NEW,
     [("2", ["ask_national_id"]), (R6_ID, ["ask_birth_date"]), ("1380-12-29", ["password_r6_refused"]),
      ("x", ["menu"])]),
    ("wrong birth date is a generic mismatch", LOST_SIM_NEW,
     [("2", ["ask_national_id"]), (LOST_SIM_ID, ["ask_birth_date"]), ("1368/02/21", ["password_mismatch"]),
      (LOST_SIM_ID, ["ask_birth_date"]), ("1368/02/20", ["code_password"])]),
    ("someone else's national ID is a generic mismatch", SARA_NEW,
     [("2", ["ask_national_id"]), (ALI_ID, ["ask_birth_date"]), ("1365/04/12", ["password_mismatch"])]),
    ("a person without a national-ID cartable is a generic mismatch", SARA_NEW,
     [("2", ["ask_national_id"]), ("1583250689", ["ask_birth_date"]), ("1370/05/12", ["password_mismatch"])]),
    ("invalid national IDs", LOST_SIM_NEW,
     [("2", ["ask_national_id"]), ("12345", ["national_id_length"]), ("5512345673", ["national_id_checksum"]),
      ("1111111111", ["too_many_invalid"])]),
    ("invalid dates", LOST_SIM_NEW,
     [("2", ["ask_national_id"]), (LOST_SIM_ID, ["ask_birth_date"]), ("20 May", ["birth_date_format"]),
      ("1404/12/30", ["birth_date_calendar"]), ("1368/02/20", ["code_password"])]),
    ("a future birth date", LOST_SIM_NEW,
     [("2", ["ask_national_id"]), (LOST_SIM_ID, ["ask_birth_date"]), ("1450/01/01", ["birth_date_future"])]),
    ("wrong code, then resend, then right", ALI,
     [("2", ["ask_national_id"]), (ALI_ID, ["ask_birth_date"]), ("1365/04/12", ["code_password"]),
      ("999999", ["code_wrong"]), ("دوباره", ["code_password"]), (CODE, ["password_reset", "password_sms"])]),
    ("help and cancel", ALI,
     [("2", ["ask_national_id"]), ("؟", ["help_ask_national_id"]), (ALI_ID, ["ask_birth_date"]),
      ("help", ["help_ask_birth_date"]), ("cancel", ["cancelled"])]),
    ("expired requester SIM", "989351110009", [("2", ["requester_not_eligible"])]),
]


@pytest.mark.parametrize(("title", "msisdn", "turns"), TABLE, ids=[row[0] for row in TABLE])
async def test_password_dialog(
    registry: MemoryRegistry, title: str, msisdn: str, turns: list[tuple[str, list[str]]]
) -> None:
    talk = chat(registry, msisdn)
    for text, expected in turns:
        assert await talk.say(text) == expected, f"after {text!r} in {talk.seen}"


async def _recover(
    registry: MemoryRegistry, msisdn: str, national_id: str, birth: str
) -> tuple[Chat, list[Reply]]:
    talk = chat(registry, msisdn)
    for text in ("2", national_id, birth):
        await talk.say(text)
    replies = await talk.dialog.handle(talk.subscriber, talk.code, "confirm", talk.now + 1)
    return talk, replies


async def test_new_password_sms_verifies_and_is_not_kept(registry: MemoryRegistry) -> None:
    talk, replies = await _recover(registry, LOST_SIM_NEW, LOST_SIM_ID, "1368/02/20")
    assert [r.kind for r in replies] == ["reply", "password"]
    password = replies[1].text.split()[1]
    assert len(password) == 10 and not set(password) & set("0Oo1lIi")
    assert "password_seed" not in talk.subscriber.model_dump_json()
    stored = registry.password_hash(LOST_SIM_ID)
    assert stored is not None and verify_password(password, stored)
    assert talk.subscriber.session is None and password not in talk.subscriber.model_dump_json()
    person = await registry.person(LOST_SIM_ID)
    assert LOST_SIM_NEW in person.cartable_sims
    assert replies[0].text.split()[1] == "۲"  # the two devices are back (Persian digits)


async def test_r6_changes_nothing(registry: MemoryRegistry) -> None:
    before = (await registry.person(R6_ID), registry.password_hash(R6_ID))
    talk = chat(registry, R6_NEW)
    for text in ("2", R6_ID, "1380/12/29"):
        await talk.say(text)
    assert talk.seen[-1] == ["password_r6_refused"]
    assert (await registry.person(R6_ID), registry.password_hash(R6_ID)) == before
    assert registry.audit == ()
    assert R6_NEW not in (await registry.person(R6_ID)).cartable_sims


async def test_confirm_processed_twice_changes_once_and_texts_the_same_password(
    registry: MemoryRegistry,
) -> None:
    talk = chat(registry, TRANSFERRED_NEW)
    for text in ("2", TRANSFERRED_ID, "1359/09/30"):
        await talk.say(text)
    snapshot = talk.subscriber.model_copy(deep=True)
    first = await talk.dialog.handle(talk.subscriber, talk.code, "confirm", talk.now + 1)
    retried = await talk.dialog.handle(snapshot, talk.code, "confirm", talk.now + 2)
    assert [r.kind for r in first] == [r.kind for r in retried] == ["reply", "password"]
    assert first[1].text == retried[1].text  # whichever commit wins, its SMS is right
    stored = registry.password_hash(TRANSFERRED_ID)
    assert stored is not None and verify_password(retried[1].text.split()[1], stored)
    assert [type(change) for change in registry.audit] == [PasswordChange]  # applied once
    assert (await registry.person(TRANSFERRED_ID)).cartable_sims.count(TRANSFERRED_NEW) == 1


def test_passwords_are_drawn_evenly_from_the_alphabet() -> None:
    key = secrets.token_bytes(32)
    drawn = Counter("".join(operation_password(secrets.token_hex(12), key) for _ in range(2000)))
    assert set(drawn) == set(PASSWORD_ALPHABET)
    expected = 20000 / len(PASSWORD_ALPHABET)
    assert all(0.7 * expected < count < 1.3 * expected for count in drawn.values())


def test_the_password_comes_from_the_operation_and_the_secret_only() -> None:
    key, other = secrets.token_bytes(32), secrets.token_bytes(32)
    assert operation_password("op1", key) == operation_password("op1", key)  # a re-run: the same
    assert operation_password("op1", key) != operation_password("op1", other)
    assert operation_password("op1", key) != operation_password("op2", key)


def test_a_code_hash_is_useless_without_the_secret() -> None:
    key, nonce = secrets.token_bytes(32), "ab" * 16
    stored = hash_code("482915", nonce, key)
    assert code_matches("482915", nonce, stored, key)
    assert not code_matches("482915", nonce, stored, secrets.token_bytes(32))

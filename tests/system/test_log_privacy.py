"""Logs never hold a full number, IMEI, national ID, birth date, code or password (DESIGN §5).

Real `python -m gateway run` processes at DEBUG carry a restore, a password recovery and a
mismatch over SMS, and a restore and a password recovery over USSD (codes and the new password
by SMS). Every stderr line of every process is read to its end; then the secrets of the demo
registry, and the codes and passwords the simulator received, are searched for in them, in
ASCII and Persian digits, with and without separators.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

import pytest
import redis.asyncio

from devtools.demo import DEMO_REGISTRY
from flows.catalog import default_catalog
from flows.normalize import parse_msisdn, to_ascii_digits
from smpp.sim import SmscSimulator
from tests.harness import (
    ALI,
    ALI_ID,
    CARTABLE_DEVICE,
    CARTABLE_SIM,
    LOST_SIM_ID,
    LOST_SIM_NEW,
    SARA_DEVICE,
    SARA_NEW,
    TRANSFERRED_ID,
    TRANSFERRED_NEW,
)
from tests.processes import Citizen, GatewayProcess, Gateways

pytestmark = pytest.mark.slow

CATALOG = default_catalog()
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
SEPARATORS = re.compile(r"[ \-./\u200c]")


def registry_secrets() -> tuple[set[str], set[str]]:
    """Long identifiers (numbers' national part, IMEIs, national IDs) and birth dates."""
    fixture = json.loads(DEMO_REGISTRY.read_text(encoding="utf-8"))
    long: set[str] = set()
    for sim in fixture["sims"]:
        msisdn = parse_msisdn(sim["msisdn"])
        assert msisdn is not None
        long.add(msisdn[2:])  # 9121110001: inside 09…, 98…, +98…, 0098… alike
    long |= {device["imei"] for device in fixture["devices"]}
    long |= {person["national_id"] for person in fixture["people"]}
    dates: set[str] = set()
    for person in fixture["people"]:
        year, month, day = person["birth_date"].split("/")
        for m, d in ((month, day), (str(int(month)), str(int(day)))):
            dates |= {f"{year}/{m}/{d}", f"{year}-{m}-{d}", f"{year}.{m}.{d}", f"{year[2:]}/{m}/{d}"}
        dates.add(f"{year}{month}{day}")
    return long, dates


def sent_secrets(texts: Iterable[str]) -> tuple[set[str], set[str]]:
    """The codes and new passwords in the MTs the simulator received."""
    codes, passwords = set(), set()
    password_intros = [CATALOG.render(lang, "password_sms", password="\0").split("\0")[0]
                       for lang in ("fa", "en")]
    for text in texts:
        codes |= set(re.findall(r"(?<![0-9])[1-9][0-9]{5}(?![0-9])", text))
        for intro in password_intros:
            if intro in text:
                passwords.add(text.split(intro, 1)[1].split()[0])
    return codes, passwords


def leaks(lines: list[str], long: set[str], exact: set[str], codes: set[str]) -> list[str]:
    found = []
    for line in lines:
        ascii_line = to_ascii_digits(line)
        compact = SEPARATORS.sub("", ascii_line)
        found += [f"{secret!r} in {line!r}" for secret in long if secret in compact]
        found += [f"{secret!r} in {line!r}" for secret in exact
                  if secret in line or secret in ascii_line or secret.translate(PERSIAN) in line]
        found += [f"code {code!r} in {line!r}" for code in codes
                  if re.search(rf"(?<!\d){code}(?!\d)", ascii_line)]
    return found


async def start_gateway(gateways: Gateways, sim: SmscSimulator, **options: str | bool) -> GatewayProcess:
    process = await gateways.start(sim.port, logging__level="DEBUG", **options)
    await sim.wait_bound(timeout=10)
    await process.wait_log("took partition", count=16)
    return process


async def sms_dialogs(sim: SmscSimulator) -> None:
    sara = Citizen(sim, SARA_NEW)
    for text in ("1", "۴۹۰۱۵۴-۲۰۳۲۳۷-۵۱۸", "+98 935 111 0002", "{code}"):
        await sara.text(text)
    assert "منتقل شد" in sara.received()[-1]
    lost = Citizen(sim, LOST_SIM_NEW)
    for text in ("رمز", LOST_SIM_ID.translate(PERSIAN), "۱۳۶۸/۰۲/۲۰", "{code}"):
        await lost.text(text)
    await lost.reply()  # the password follows in its own SMS
    transferred = Citizen(sim, TRANSFERRED_NEW)  # a mismatch: a wrong birth date
    for text in ("EN", "2", TRANSFERRED_ID, "1359-9-29"):
        await transferred.text(text)
    assert transferred.received()[-1].startswith("The details do not match")


async def ussd_dialog(sim: SmscSimulator, msisdn: str, answers: list[str]) -> None:
    dialogue = await sim.ussd_start(msisdn)
    await dialogue.screen(10)
    citizen = Citizen(sim, msisdn)
    for answer in answers:
        if answer == "{code}":
            await citizen.reply()  # the code comes by SMS
        await dialogue.reply(answer.replace("{code}", citizen.code))
        screen = await dialogue.screen(10)
    assert screen.ends


@pytest.mark.parametrize("options", [{}, {"logging__format": "json", "logging__smpp_trace": True}],
                         ids=["text", "json with the SMPP trace"])
async def test_debug_logs_hold_no_personal_data_or_secrets(
    sim: SmscSimulator, db: redis.asyncio.Redis, gateways: Gateways, options: dict[str, str | bool]
) -> None:
    process = await start_gateway(gateways, sim, **options)
    await sms_dialogs(sim)
    await ussd_dialog(sim, CARTABLE_SIM, ["1", CARTABLE_DEVICE, "09351110008", "{code}"])
    await ussd_dialog(sim, ALI, ["2", ALI_ID, "1365/04/12", "{code}"])
    await Citizen(sim, ALI).reply()  # the new password, by SMS
    process.terminate()
    assert await process.wait_exit() == 0  # stderr read to its end
    assert sum("DEBUG" in line for line in process.lines) > 10  # DEBUG was really on
    if options:  # every PDU was traced, as JSON lines
        assert sum('"logger": "hamta.smpp.trace"' in line for line in process.lines) > 50
        assert all(line.startswith("{") for line in process.lines)

    long, dates = registry_secrets()
    codes, passwords = sent_secrets(mt.text for mt in sim.mt_log)
    assert len(codes) == 4 and len(passwords) == 2  # the dialogs did produce them
    assert {SARA_DEVICE, LOST_SIM_ID, "9361110003"} <= long
    planted = ["to 0912 111 0001", "IMEI ۴۹۰۱۵۴-۲۰۳۲۳۷-۵۱۸", "born 1368/2/20", f"code={min(codes)}",
               f"password {min(passwords)}"]
    assert all(leaks([line], long, dates | passwords, codes) for line in planted)  # the search works
    assert leaks(process.lines, long, dates | passwords, codes) == []

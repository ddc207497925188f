"""The dialog on USSD screens, driven directly: menu, paging, codes by SMS, resume, abort."""

from __future__ import annotations

import re

from flows.catalog import default_catalog
from flows.dialog import Dialog
from flows.dialog_types import FlowConfig, channel_words
from flows.memory_registry import MemoryRegistry
from flows.session import Subscriber
from flows.ussd import SCREEN_CHARS, Screen, UssdDialog
from tests.harness import LOST_SIM_ID, LOST_SIM_NEW, SARA_DEVICE, SARA_NEW

FA = default_catalog()
T0 = 1_800_000_000.0
CONFIG = FlowConfig()


class Dialler:
    def __init__(self, registry: MemoryRegistry, msisdn: str) -> None:
        self.ussd = UssdDialog(Dialog(registry, CONFIG))
        self.subscriber = Subscriber(msisdn=msisdn)
        self.now = T0
        self.code = ""

    async def send(self, text: str, event: str = "continue", after: float = 1.0) -> Screen | None:
        self.now += after
        screen = await self.ussd.handle(self.subscriber, text.replace("{code}", self.code), event,
                                        f"u{self.now}", self.now)
        if screen is not None:
            assert len(screen.text) <= SCREEN_CHARS and len(screen.text.encode("utf-16-be")) <= 160
            for sms in screen.sms:
                if found := re.search(r"\b[1-9][0-9]{5}\b", sms.text):
                    self.code = found.group()
        return screen

    async def dial(self, code: str = "*7777#", after: float = 1.0) -> Screen | None:
        return await self.send(code, "begin", after)


def fa(key: str, **params: object) -> str:
    """The text a USSD screen shows for `key`: its `ussd_` variant when there is one."""
    shown = f"ussd_{key}" if f"ussd_{key}" in FA.keys("fa") else key
    return FA.render("fa", shown, **channel_words(FA, "fa", "ussd"), **params)


async def test_restore_on_ussd_with_the_code_by_sms(registry: MemoryRegistry) -> None:
    phone = Dialler(registry, SARA_NEW)
    menu = await phone.dial()
    assert menu is not None and menu.text == fa("ussd_menu") and not menu.end
    assert (await phone.send("1")).text == fa("ask_imei")  # type: ignore[union-attr]
    assert (await phone.send(SARA_DEVICE)).text == fa("ask_old_number")  # type: ignore[union-attr]
    waiting = await phone.send("09351110002")
    assert waiting is not None and waiting.text == fa("ussd_code_sent", minutes=3) and not waiting.end
    assert [sms.kind for sms in waiting.sms] == ["code"] and phone.code
    done = await phone.send("{code}")
    assert done is not None and done.end
    restored = fa("restored_to_sim", imei_tail="7518")[:SCREEN_CHARS]
    assert done.text == restored or done.text.startswith("دستگاه")
    assert (await registry.device(SARA_DEVICE)).sim == SARA_NEW


async def test_long_screens_are_paged(registry: MemoryRegistry) -> None:
    phone = Dialler(registry, SARA_NEW)
    await phone.dial()
    first = await phone.send("3")  # help is longer than a screen
    assert first is not None and first.text.endswith(fa("ussd_more")) and not first.end
    pages = [first.text]
    while not (page := await phone.send("۹۹")).end:  # type: ignore[union-attr]
        pages.append(page.text)  # type: ignore[union-attr]
    pages.append(page.text)  # type: ignore[union-attr]
    joined = " ".join(p.replace("\n" + fa("ussd_more"), "") for p in pages)
    assert " ".join(joined.split()) == " ".join(fa("help").split())


async def test_dialling_straight_into_an_option(registry: MemoryRegistry) -> None:
    phone = Dialler(registry, LOST_SIM_NEW)
    screen = await phone.dial("*7777*2#")
    assert screen is not None and screen.text == fa("ask_national_id")
    assert (await phone.send(LOST_SIM_ID)).text == fa("ask_birth_date")  # type: ignore[union-attr]


async def test_resume_after_a_network_timeout(registry: MemoryRegistry) -> None:
    phone = Dialler(registry, SARA_NEW)
    await phone.dial()
    await phone.send("1")
    await phone.send(SARA_DEVICE)
    assert await phone.send("", "timeout") is None
    offer = await phone.dial(after=60)
    assert offer is not None and offer.text == fa("ussd_resume")
    assert (await phone.send("1")).text == fa("ask_old_number")  # type: ignore[union-attr]
    assert (await phone.send("09351110002")).text == fa("ussd_code_sent", minutes=3)  # type: ignore[union-attr]


async def test_start_over_instead_of_resuming(registry: MemoryRegistry) -> None:
    phone = Dialler(registry, SARA_NEW)
    await phone.dial()
    await phone.send("1")
    await phone.send("", "abort")
    assert (await phone.dial()).text == fa("ussd_resume")  # type: ignore[union-attr]
    assert (await phone.send("2")).text == fa("ussd_menu")  # type: ignore[union-attr]


async def test_no_resume_offer_after_the_resume_window(registry: MemoryRegistry) -> None:
    phone = Dialler(registry, SARA_NEW)
    await phone.dial()
    await phone.send("1")
    screen = await phone.dial(after=CONFIG.ussd_resume_seconds + 1)
    assert screen is not None and screen.text == fa("ussd_menu")

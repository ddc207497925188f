"""USSD paging (between sentences, never inside a word, within 160 bytes), `EN`/`FA` on any
screen, and the channel rule of docs/conversations.md: a dialogue left on USSD continues by
SMS only when the gateway handed it over on the screen; otherwise an SMS starts afresh and says
the USSD dialogue was closed, once."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from flows.catalog import default_catalog
from flows.dialog import Dialog
from flows.dialog_types import FlowConfig, Reply, channel_words
from flows.memory_registry import MemoryRegistry
from flows.session import Subscriber
from flows.ussd import SCREEN_BYTES, Screen, UssdDialog, paginate
from tests.harness import LOST_SIM_ID, LOST_SIM_NEW, SARA_DEVICE, SARA_NEW

CATALOG = default_catalog()
CONFIG = FlowConfig()
T0 = 1_800_000_000.0
MORE = {"fa": CATALOG.render("fa", "ussd_more"), "en": CATALOG.render("en", "ussd_more")}


def screen_text(lang: str, key: str, **params: object) -> str:
    shown = f"ussd_{key}" if CATALOG.has(lang, f"ussd_{key}") else key  # type: ignore[arg-type]
    words = channel_words(CATALOG, lang, "ussd")  # type: ignore[arg-type]
    return CATALOG.render(lang, shown, **words, **params)  # type: ignore[arg-type]


def sms_text(lang: str, key: str, **params: object) -> str:
    words = channel_words(CATALOG, lang, "sms")  # type: ignore[arg-type]
    return CATALOG.render(lang, key, **words, **params)  # type: ignore[arg-type]


# --- paging ---------------------------------------------------------------------------------

def unpaged(pages: list[str], more: str) -> str:
    return " ".join(page.removesuffix("\n" + more) for page in pages)


def test_a_page_ends_at_a_sentence_not_before_its_last_word() -> None:
    text = ("Number added to your cartable; its 2 devices are back. The new password "
            "follows in the next SMS, so keep the phone at hand.")
    pages = paginate(text, "#: more")
    assert pages[0] == "Number added to your cartable; its 2 devices are back.\n#: more"
    assert pages[1].startswith("The new password")


def test_a_short_text_is_one_page_and_a_long_word_is_cut_only_when_it_must() -> None:
    assert paginate("Hamta\n1 Restore", "#: more") == ["Hamta\n1 Restore"]
    pages = paginate("x" * 200, "#: more")
    assert all(len(page.encode("utf-16-be")) <= SCREEN_BYTES for page in pages)
    assert "".join(page.removesuffix("\n#: more") for page in pages) == "x" * 200


WORD = st.text(alphabet=st.sampled_from("abcdeفارسیکدملی۰۱۲۳IMEI‌"), min_size=1, max_size=20)
SEPARATOR = st.sampled_from([" ", " ", " ", "\n", ". ", "، ", "؛ ", ": "])


@given(st.lists(st.tuples(WORD, SEPARATOR), min_size=1, max_size=60), st.sampled_from(["fa", "en"]))
def test_paging_properties(parts: list[tuple[str, str]], lang: str) -> None:
    """Every page within 160 bytes of UCS-2 (and so of GSM), no word split, and the pages
    joined again are the text, whitespace aside."""
    text = "".join(word + sep for word, sep in parts).strip()
    more = MORE[lang]
    pages = paginate(text, more)
    assert all(len(page.encode("utf-16-be")) <= SCREEN_BYTES for page in pages)
    assert all(page.endswith("\n" + more) for page in pages[:-1])
    joined = unpaged(pages, more)
    assert joined.split() == text.split()  # equal modulo whitespace, and no word cut in two


@given(st.sampled_from(sorted(CATALOG.keys("fa"))), st.sampled_from(["fa", "en"]))
def test_every_catalog_text_pages_without_splitting_a_word(key: str, lang: str) -> None:
    from tests.unit.test_catalog import text as longest_text

    full = longest_text(lang, key, "ussd")  # type: ignore[arg-type]
    pages = paginate(full, MORE[lang])
    assert unpaged(pages, MORE[lang]).split() == full.split()


# --- a handset: USSD screens and SMS from the same number ------------------------------------

class Handset:
    """One number on both channels of one dialog, with a shared clock."""

    def __init__(self, registry: MemoryRegistry, msisdn: str) -> None:
        self.dialog = Dialog(registry, CONFIG)
        self.ussd = UssdDialog(self.dialog)
        self.subscriber = Subscriber(msisdn=msisdn)
        self.now = T0
        self.code = ""

    def _tick(self, after: float) -> str:
        self.now += after
        return f"m{self.now}"

    def _remember(self, replies: list[Reply]) -> None:
        for reply in replies:
            if found := re.search(r"(?<![0-9])[1-9][0-9]{5}(?![0-9])", reply.text):
                self.code = found.group()

    async def screen(self, text: str, event: str = "continue", after: float = 1.0) -> Screen:
        message_id = self._tick(after)
        shown = await self.ussd.handle(self.subscriber, text.replace("{code}", self.code), event,
                                       message_id, self.now)
        assert shown is not None
        assert len(shown.text.encode("utf-16-be")) <= SCREEN_BYTES
        self._remember(shown.sms)
        return shown

    async def dial(self, code: str = "*7777#", after: float = 1.0) -> Screen:
        return await self.screen(code, "begin", after)

    async def hang_up(self, event: str = "abort") -> None:
        assert await self.ussd.handle(self.subscriber, "", event, self._tick(1.0), self.now) is None

    async def text(self, text: str, after: float = 1.0) -> list[str]:
        message_id = self._tick(after)
        replies = await self.dialog.handle(self.subscriber, text.replace("{code}", self.code),
                                           message_id, self.now)
        self._remember(replies)
        return [reply.text for reply in replies]


async def test_the_ussd_menu_offers_english_and_en_shows_it_in_english(registry: MemoryRegistry) -> None:
    phone = Handset(registry, SARA_NEW)
    menu = await phone.dial()
    assert "EN: English" in menu.text and not menu.end
    english = await phone.screen("EN")
    assert english.text == screen_text("en", "menu") and not english.end
    assert "FA: فارسی" in english.text
    assert (await phone.screen("FA")).text == screen_text("fa", "menu")


async def test_en_on_a_question_asks_the_same_question_in_english(registry: MemoryRegistry) -> None:
    phone = Handset(registry, SARA_NEW)
    await phone.dial()
    assert (await phone.screen("1")).text == screen_text("fa", "ask_imei")
    again = await phone.screen("EN")
    assert again.text == screen_text("en", "ask_imei") and not again.end
    assert (await phone.screen(SARA_DEVICE)).text == screen_text("en", "ask_old_number")
    waiting = await phone.screen("09351110002")
    assert waiting.text == screen_text("en", "code_sent", minutes=3)
    assert (await phone.screen("fa")).text == screen_text("fa", "ask_code")
    done = await phone.screen("{code}")
    assert done.end and done.text == screen_text("fa", "restored_to_sim", imei_tail="7518")


async def test_en_on_the_resume_offer_shows_the_offer_in_english(registry: MemoryRegistry) -> None:
    phone = Handset(registry, SARA_NEW)
    await phone.dial()
    await phone.screen("1")
    await phone.hang_up("timeout")
    assert (await phone.dial()).text == screen_text("fa", "resume")
    assert (await phone.screen("EN")).text == screen_text("en", "resume")
    assert (await phone.screen("1")).text == screen_text("fa", "ask_imei")  # the kept screen


async def test_an_sms_after_an_abandoned_ussd_dialogue_starts_afresh_and_says_so_once(
    registry: MemoryRegistry,
) -> None:
    """The issue's case: a password dialogue left on USSD, then `?` by SMS. The answer is the
    general help, not the birth date's, after a line saying the USSD dialogue was closed."""
    phone = Handset(registry, LOST_SIM_NEW)
    await phone.dial()
    await phone.screen("2")
    assert (await phone.screen(LOST_SIM_ID)).text == screen_text("fa", "ask_birth_date")
    await phone.hang_up()
    closed = sms_text("fa", "ussd_dialogue_closed")
    assert await phone.text("?") == [closed, sms_text("fa", "help")]  # help takes 2 parts alone
    assert phone.subscriber.session is None
    assert await phone.text("سلام") == [sms_text("fa", "menu")]  # said once


async def test_an_sms_after_a_ussd_cut_off_is_a_first_message(registry: MemoryRegistry) -> None:
    phone = Handset(registry, SARA_NEW)
    await phone.dial()
    await phone.screen("1")
    await phone.screen(SARA_DEVICE)
    await phone.hang_up("timeout")  # the network ended the dialogue, nothing was said
    closed = sms_text("fa", "ussd_dialogue_closed")
    assert await phone.text("09351110002") == [closed + "\n" + sms_text("fa", "menu")]
    assert await phone.text("1") == [sms_text("fa", "ask_imei")]


async def test_a_dialogue_the_gateway_handed_over_continues_by_sms(registry: MemoryRegistry) -> None:
    """The screen came too late: the gateway says so (ussd_slow), sends the screen's content by
    SMS in SMS words, and the next SMS goes on from the same step."""
    phone = Handset(registry, SARA_NEW)
    await phone.dial()
    await phone.screen("1")
    late = await phone.screen(SARA_DEVICE)
    as_sms, shown = phone.ussd.hand_over(phone.subscriber, late)
    assert shown.end and shown.text == CATALOG.render("fa", "ussd_slow")
    assert as_sms == sms_text("fa", "ask_old_number")  # «بفرستید», not «وارد کنید»
    code = await phone.text("09351110002")
    assert len(code) == 1 and phone.code  # the code's SMS: no "closed" notice
    assert await phone.text("{code}") == [sms_text("fa", "restored_to_sim", imei_tail="7518")]


async def test_dialling_with_an_sms_dialogue_open_offers_to_continue_it(registry: MemoryRegistry) -> None:
    phone = Handset(registry, SARA_NEW)
    await phone.text("1")
    await phone.text(SARA_DEVICE)
    offer = await phone.dial()
    assert offer.text == screen_text("fa", "resume") and not offer.end
    question = await phone.screen("1")
    assert question.text == screen_text("fa", "ask_old_number")  # in screen words
    assert (await phone.screen("09351110002")).text == screen_text("fa", "code_sent", minutes=3)
    assert phone.subscriber.session is not None and phone.subscriber.session.channel == "ussd"


async def test_dialling_then_starting_over_closes_the_sms_dialogue(registry: MemoryRegistry) -> None:
    phone = Handset(registry, SARA_NEW)
    await phone.text("1")
    await phone.dial()
    assert (await phone.screen("2")).text == screen_text("fa", "menu")
    assert phone.subscriber.session is None


async def test_an_sms_dialogue_continues_by_sms(registry: MemoryRegistry) -> None:
    phone = Handset(registry, SARA_NEW)
    assert await phone.text("1") == [sms_text("fa", "ask_imei")]
    assert await phone.text(SARA_DEVICE) == [sms_text("fa", "ask_old_number")]

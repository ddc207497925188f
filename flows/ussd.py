"""The same dialog on a USSD screen: a menu first, pages of at most 80 characters (160 bytes
of UCS-2) with `#` or `۹۹` for more, an offer to continue where the user was when they dial
again after the network cut them off, and codes and passwords sent by SMS.

`UssdDialog.handle` returns a `Screen` (what to show, whether the dialogue ends) and the SMS
replies that go with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.dialog import Dialog
from flows.dialog_types import Reply
from flows.normalize import normalize_text, to_ascii_digits
from flows.outcomes import TurnOutcome, untaken
from flows.session import Subscriber

SCREEN_CHARS = 80  # 160 bytes of UCS-2
MORE_WORDS = {"#", "99"}
RESUME, START_OVER = "1", "2"
SMS_KINDS = {"code", "password"}


@dataclass(slots=True)
class Screen:
    text: str
    end: bool
    sms: list[Reply] = field(default_factory=list)
    outcome: TurnOutcome = field(default_factory=TurnOutcome)  # flows/outcomes.py


class UssdDialog:
    def __init__(self, dialog: Dialog) -> None:
        self._dialog = dialog

    async def handle(
        self, subscriber: Subscriber, text: str, event: str, message_id: str, now: float
    ) -> Screen | None:
        """None when there is nothing to show (the user hung up or the network timed out)."""
        if event in ("abort", "timeout"):
            subscriber.ussd_pages = []
            subscriber.ussd_resume_offered = False
            return None
        word = to_ascii_digits(normalize_text(text)).strip()
        if event == "begin":
            return await self._begin(subscriber, _dialled_choice(word), message_id, now)
        if word in MORE_WORDS and subscriber.ussd_pages:
            return self._next_page(subscriber)
        if subscriber.ussd_resume_offered:
            return await self._resume_answer(subscriber, word, message_id, now)
        return await self._turn(subscriber, text, message_id, now)

    async def _begin(self, subscriber: Subscriber, choice: str, message_id: str, now: float) -> Screen:
        subscriber.ussd_pages = []
        subscriber.ussd_resume_offered = False
        subscriber.ussd_started_at = now
        session = subscriber.session
        resumable = (
            session is not None and subscriber.ussd_screen
            and now - session.last_seen <= self._dialog.config.ussd_resume_seconds
        )
        if resumable and not choice:
            subscriber.ussd_resume_offered = True  # the last screen is kept to show again
            return Screen(self._dialog.render(subscriber, "ussd_resume"), end=False,
                          outcome=untaken(subscriber, "resume_offered"))
        subscriber.session = None
        return await self._turn(subscriber, choice or "menu", message_id, now)

    async def _resume_answer(self, subscriber: Subscriber, word: str, message_id: str, now: float) -> Screen:
        subscriber.ussd_resume_offered = False
        if word == RESUME:
            if subscriber.session is not None:
                subscriber.session.last_seen = now
            screen = self._show(subscriber, [subscriber.ussd_screen], end=False)
            screen.outcome = untaken(subscriber, "resumed")
            return screen
        subscriber.session = None
        return await self._turn(subscriber, "menu", message_id, now)

    async def _turn(self, subscriber: Subscriber, text: str, message_id: str, now: float) -> Screen:
        result = await self._dialog.turn(subscriber, text, message_id, now, channel="ussd")
        replies = result.replies
        shown = [reply.text for reply in replies if reply.kind not in SMS_KINDS]
        # The dialogue stays open while a flow waits for input or the menu waits for a choice.
        waiting = subscriber.session is not None or any(r.key == "menu" for r in replies)
        screen = self._show(subscriber, shown, end=not waiting)
        screen.sms = [reply for reply in replies if reply.kind in SMS_KINDS]
        screen.outcome = result.outcome
        return screen

    def _show(self, subscriber: Subscriber, texts: list[str], end: bool) -> Screen:
        more = self._dialog.render(subscriber, "ussd_more")
        pages = paginate("\n".join(texts), more)
        subscriber.ussd_screen = pages[0]
        subscriber.ussd_pages = pages[1:]
        return Screen(pages[0], end=end and not subscriber.ussd_pages)

    def _next_page(self, subscriber: Subscriber) -> Screen:
        page = subscriber.ussd_pages.pop(0)
        subscriber.ussd_screen = page
        return Screen(page, end=subscriber.session is None and not subscriber.ussd_pages,
                      outcome=untaken(subscriber, "page"))


def paginate(text: str, more: str, limit: int = SCREEN_CHARS) -> list[str]:
    """Pages of at most `limit` characters, each but the last ending with `more`, cut at
    spaces or line breaks where possible."""
    pages: list[str] = []
    while len(text) > limit:
        room = limit - len(more) - 1
        cut = max(text.rfind(" ", 0, room + 1), text.rfind("\n", 0, room + 1))
        cut = cut if cut > room // 2 else room
        pages.append(text[:cut].rstrip() + "\n" + more)
        text = text[cut:].lstrip()
    return [*pages, text]


def _dialled_choice(word: str) -> str:
    """`*7777*1#` dials straight into option 1; `*7777#` (or any plain dial) chooses nothing."""
    parts = word.strip("#").split("*")
    return parts[2] if len(parts) > 2 and parts[2] else ""

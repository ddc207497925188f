"""The same dialog on a USSD screen: a menu first, pages of at most 160 bytes of UCS-2 (80
characters), cut between sentences or words, with `#` or `۹۹` for more, an offer to continue
where the user was when they dial again after the network cut them off (or with an SMS
dialogue open), `EN`/`FA` on any screen, and codes and passwords sent by SMS.

`UssdDialog.handle` returns a `Screen` (what to show, whether the dialogue ends) and the SMS
replies that go with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from flows.dialog import LANGUAGE_WORDS, Dialog
from flows.dialog_types import Reply
from flows.normalize import normalize_text, to_ascii_digits
from flows.outcomes import TurnOutcome, untaken
from flows.session import Subscriber

SCREEN_BYTES = 160
SCREEN_CHARS = SCREEN_BYTES // 2  # 160 bytes of UCS-2
MORE_WORDS = {"#", "99"}
RESUME, START_OVER = "1", "2"
SMS_KINDS = {"code", "password"}


@dataclass(slots=True)
class Screen:
    text: str
    end: bool
    sms: list[Reply] = field(default_factory=list)
    # What the screen says, whole and in SMS words, for when it has to go by SMS instead.
    as_sms: str = ""
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
        if word.lower() in LANGUAGE_WORDS and subscriber.ussd_resume_offered:
            subscriber.lang = LANGUAGE_WORDS[word.lower()]  # type: ignore[assignment]
            return Screen(self._dialog.render(subscriber, "ussd_resume"), end=False)
        if subscriber.ussd_resume_offered:
            return await self._resume_answer(subscriber, word, message_id, now)
        return await self._turn(subscriber, text, message_id, now)

    async def _begin(self, subscriber: Subscriber, choice: str, message_id: str, now: float) -> Screen:
        subscriber.ussd_pages = []
        subscriber.ussd_resume_offered = False
        subscriber.ussd_started_at = now
        session = subscriber.session
        if session is not None and not choice:
            fresh = now - session.last_seen <= self._dialog.config.ussd_resume_seconds
            if session.channel == "ussd" and subscriber.ussd_screen and fresh:
                subscriber.ussd_resume_offered = True  # the last screen is kept to show again
                return Screen(self._dialog.render(subscriber, "ussd_resume"), end=False,
                              outcome=untaken(subscriber, "resume_offered"))
            idle = now - session.last_seen <= self._dialog.config.session_idle_seconds
            if session.channel == "sms" and idle:
                # An SMS dialogue is open: offer to go on with it here, at its current question.
                subscriber.ussd_screen = self._dialog.question(subscriber, "ussd")
                subscriber.ussd_resume_offered = True
                return Screen(self._dialog.render(subscriber, "ussd_resume"), end=False,
                              outcome=untaken(subscriber, "resume_offered"))
        subscriber.session = None
        return await self._turn(subscriber, choice or "menu", message_id, now)

    async def _resume_answer(self, subscriber: Subscriber, word: str, message_id: str, now: float) -> Screen:
        subscriber.ussd_resume_offered = False
        if word == RESUME:
            if subscriber.session is not None:
                subscriber.session.last_seen = now
                subscriber.session.channel = "ussd"
            screen = self._show(subscriber, [subscriber.ussd_screen], end=False)
            screen.outcome = untaken(subscriber, "resumed")
            return screen
        subscriber.session = None
        return await self._turn(subscriber, "menu", message_id, now)

    async def _turn(self, subscriber: Subscriber, text: str, message_id: str, now: float) -> Screen:
        result = await self._dialog.turn(subscriber, text, message_id, now, channel="ussd")
        replies = result.replies
        shown = [reply for reply in replies if reply.kind not in SMS_KINDS]
        # The dialogue stays open while a flow waits for input or the menu waits for a choice.
        waiting = subscriber.session is not None or any(r.key == "menu" for r in replies)
        screen = self._show(subscriber, [reply.text for reply in shown], end=not waiting)
        screen.sms = [reply for reply in replies if reply.kind in SMS_KINDS]
        screen.as_sms = "\n".join(self._dialog.render_for(subscriber, r, "sms") for r in shown)
        screen.outcome = result.outcome
        return screen

    def hand_over(self, subscriber: Subscriber, screen: Screen) -> tuple[str, Screen]:
        """The screen comes too late (or the network has ended the dialogue): its content goes
        by SMS, the dialogue goes on by SMS, and the screen ends saying so. The only way a USSD
        dialogue continues by SMS (docs/conversations.md, "Channels")."""
        text = screen.as_sms or "\n".join([screen.text, *subscriber.ussd_pages])
        subscriber.ussd_pages = []
        if subscriber.session is not None:
            subscriber.session.channel = "sms"
        return text, Screen(self._dialog.render(subscriber, "ussd_slow"), end=True)

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


def ucs2_bytes(text: str) -> int:
    """A screen's size when sent as UCS-2, the largest of its encodings: a text within the
    limit in UCS-2 fits in GSM 7-bit too."""
    return len(text.encode("utf-16-be"))


# Where a page may end, best first: after a line or a sentence, after a clause, between words.
_BREAKS = (re.compile(r"\n"), re.compile(r"(?<=[.!?؟:])\s"), re.compile(r"(?<=[،؛,;)])\s"),
           re.compile(r"\s"))


def paginate(
    text: str, more: str, limit: int = SCREEN_BYTES, size: Callable[[str], int] = ucs2_bytes,
) -> list[str]:  # fmt: skip
    """Pages of at most `limit` bytes (`size`), each but the last ending with a line `more`.

    A page ends at the last line or sentence end that keeps it at least half full, else at
    the last clause end that does, else between words; a word is cut only when it alone is
    longer than a page. Joined again, the pages give the text back (whitespace aside)."""
    pages: list[str] = []
    text = text.strip()
    while size(text) > limit:
        room = _fitting(text, limit - size("\n" + more), size)
        cut = _best_cut(text, room)
        pages.append(text[:cut].rstrip() + "\n" + more)
        text = text[cut:].strip()
    return [*pages, text]


def _fitting(text: str, budget: int, size: Callable[[str], int]) -> int:
    """The length of the longest prefix of `text` within `budget` bytes."""
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if size(text[:middle]) <= budget:
            low = middle
        else:
            high = middle - 1
    return max(low, 1)


def _best_cut(text: str, room: int) -> int:
    """Where to end a page of at most `room` characters: see `paginate`."""
    for kind, pattern in enumerate(_BREAKS):
        ends = [m.start() for m in pattern.finditer(text, 0, room + 1) if m.start() > 0]
        good = [end for end in ends if kind == len(_BREAKS) - 1 or end >= room // 2]
        if good:
            return good[-1]
    return room


def _dialled_choice(word: str) -> str:
    """`*7777*1#` dials straight into option 1; `*7777#` (or any plain dial) chooses nothing."""
    parts = word.strip("#").split("*")
    return parts[2] if len(parts) > 2 and parts[2] else ""

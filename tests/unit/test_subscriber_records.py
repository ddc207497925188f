"""A number's two stored records read back into one Subscriber (gateway/store/subscribers.py):
what the commit wrote, records from before the split, and records that are missing."""

from __future__ import annotations

import json

from flows.session import Session, Subscriber
from gateway.store.subscribers import parse_subscriber, stored_state

NUMBER = "989121234567"
SESSION = Session(flow="restore", state="ask_code", started_at=1.8e9, last_seen=1.8e9 + 5,
                  imei="490154203237518", code_hash="ab" * 32, pending_move={"imei": "490154203237518"})


def test_what_the_commit_stores_reads_back_the_same() -> None:
    subscriber = Subscriber(msisdn=NUMBER, lang="en", strikes=2, strikes_since=1.8e9,
                            code_sends_at=[1.8e9], reply_tokens=3.5, session=SESSION,
                            ussd_pages=["یک", "دو"], session_seen_at=1.8e9 + 5)
    state = stored_state(subscriber)
    assert parse_subscriber(NUMBER, state.subscriber, state.session or None, "fa") == subscriber


def test_no_records_give_a_fresh_subscriber_in_the_default_language() -> None:
    assert parse_subscriber(NUMBER, None, None, "en") == Subscriber(msisdn=NUMBER, lang="en")
    assert parse_subscriber(NUMBER, "{}", None, "en") == Subscriber(msisdn=NUMBER, lang="en")


def test_the_session_record_wins_over_a_session_kept_in_an_old_record() -> None:
    old = json.dumps({"msisdn": NUMBER, "lang": "en",
                      "session": SESSION.model_copy(update={"state": "ask_imei"}).model_dump()})
    current = json.dumps({"session": SESSION.model_dump()})
    subscriber = parse_subscriber(NUMBER, old, current, "fa")
    assert (subscriber.lang, subscriber.session) == ("en", SESSION)


def test_strike_times_of_an_old_record_read_as_a_count() -> None:
    old = json.dumps({"msisdn": NUMBER, "strikes": [1.8e9 + 60, 1.8e9], "locked_until": 1.8e9 + 600})
    subscriber = parse_subscriber(NUMBER, old, None, "fa")
    assert (subscriber.strikes, subscriber.strikes_since, subscriber.lang) == (2, 1.8e9, "fa")

"""The subscriber-store seam: load a number's conversation state before a turn, and turn it into
what the turn's commit writes (gateway/store/lua/commit_turn.lua), together with the replies.

Two records per number: the subscriber's (language, strikes, lockout; `SUBSCRIBER_TTL_SECONDS`)
and the conversation's (`flows.session.SESSION_FIELDS`: what the citizen typed and the screens
shown), whose TTL is the session's idle time, renewed by each commit: personal data expires with
the session even when the citizen just walks away.

`SubscriberStore` is what the worker needs; `RedisSubscriberStore` is the default.
"""

from __future__ import annotations

from json.encoder import encode_basestring as json_string  # in C
from typing import Any, NamedTuple, Protocol

from flows.catalog import Language
from flows.session import SESSION_FIELDS, Subscriber
from gateway.store.keys import Keys

SUBSCRIBER_TTL_SECONDS = 30 * 86400  # the language choice and the lockout outlive a session
_SESSION_FIELDS = set(SESSION_FIELDS)  # as pydantic's include/exclude take it


class StoredState(NamedTuple):
    """What a commit writes: each JSON, or '' to delete that record."""

    subscriber: str
    session: str


class SubscriberStore(Protocol):
    async def load(self, msisdn: str) -> Subscriber:
        """The number's state, or a fresh subscriber in the default language."""

    def serialize(self, subscriber: Subscriber) -> StoredState:
        """The state as the commit stores it."""


def parse_subscriber(
    msisdn: str, record: str | None, session: str | None, default_language: Language
) -> Subscriber:
    """A number's state from its two stored records (either may be missing)."""
    if record is None and session is None:
        return Subscriber(msisdn=msisdn, lang=default_language)
    # The records' members after the defaults, read in one pass by pydantic's own JSON parser
    # (a later duplicate wins, as in a dict merge: a record from before the split may hold a
    # session too).
    members = [f'"msisdn":{json_string(msisdn)},"lang":{json_string(default_language)}']
    for raw in (record, session):
        if raw is not None:
            inner = raw.strip()[1:-1].strip()
            if inner:
                members.append(inner)
    return Subscriber.model_validate_json("{" + ",".join(members) + "}")


def stored_state(subscriber: Subscriber) -> StoredState:
    """The two records as they are stored: the subscriber's, and the conversation's."""
    conversation = subscriber.model_dump_json(include=_SESSION_FIELDS, exclude_defaults=True)
    record = subscriber.model_dump_json(exclude=_SESSION_FIELDS, exclude_defaults=True)
    return StoredState(record, "" if conversation == "{}" else conversation)


class RedisSubscriberStore:
    def __init__(self, redis: Any, keys: Keys, default_language: Language) -> None:
        self._redis = redis
        self._keys = keys
        self._default_language: Language = default_language

    async def load(self, msisdn: str) -> Subscriber:
        record, session = await self._redis.mget(
            [self._keys.subscriber(msisdn), self._keys.session(msisdn)])
        return parse_subscriber(msisdn, record, session, self._default_language)

    def serialize(self, subscriber: Subscriber) -> StoredState:
        return stored_state(subscriber)

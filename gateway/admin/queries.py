"""What an operator types (URL path and query, or CLI arguments), checked and normalised the
same way for both front ends: numbers as 98XXXXXXXXXX, IMEIs and national IDs validated, times
as ISO-8601 or epoch seconds. A bad value is an `AdminError` (400) naming it, never echoing a
personal value back."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final, TypedDict

from flows.national_id import parse_national_id
from flows.normalize import parse_imei, parse_msisdn
from gateway.admin.operations import AdminError
from gateway.store.audit import MAX_LIMIT, parse_time

DEFAULT_LIMIT: Final = 100
ENTRY_ID: Final = re.compile(r"^\d{1,20}-\d{1,20}$")


class AuditQuery(TypedDict):
    imei: str
    msisdn: str
    national_id: str
    since: float | None
    until: float | None
    limit: int


def parse_number(text: str) -> str:
    msisdn = parse_msisdn(text)
    if msisdn is None:
        raise AdminError("not a mobile number (0912..., 912..., +98..., 98...)")
    return msisdn


def parse_limit(text: str | None) -> int:
    if text in (None, ""):
        return DEFAULT_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise AdminError(f"limit: a whole number from 1 to {MAX_LIMIT}")
    return int(text)


def parse_entry_id(text: str) -> str:
    if not ENTRY_ID.match(text):
        raise AdminError("not a dead letter id (like 1764751234567-0)")
    return text


def _time(name: str, text: str | None) -> float | None:
    if not text:
        return None
    try:
        return parse_time(text)
    except ValueError:
        raise AdminError(f"{name}: ISO-8601 (2026-12-03T08:00:00Z) or epoch seconds") from None


def parse_audit_query(params: Mapping[str, str]) -> AuditQuery:
    unknown = set(params) - {"imei", "msisdn", "national_id", "since", "until", "limit"}
    if unknown:
        raise AdminError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    imei = msisdn = national_id = ""
    if params.get("imei"):
        imei = parse_imei(params["imei"]) or ""
        if not imei:
            raise AdminError("imei: 15 digits with a valid check digit")
    if params.get("msisdn"):
        msisdn = parse_number(params["msisdn"])
    if params.get("national_id"):
        national_id = parse_national_id(params["national_id"]) or ""
        if not national_id:
            raise AdminError("national_id: 10 digits with a valid check digit")
    return AuditQuery(imei=imei, msisdn=msisdn, national_id=national_id,
                      since=_time("since", params.get("since")),
                      until=_time("until", params.get("until")),
                      limit=parse_limit(params.get("limit")))

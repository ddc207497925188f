"""Delivery receipts as SMSCs really send them, read by our own tolerant parser.

SMPP 3.4 (Appendix B) suggests a receipt text ``id:IIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm
done date:YYMMDDhhmm stat:DDDDDDD err:E text:...``; it is only a suggestion, and SMSCs differ:
12-digit dates (with seconds), ``err:0x0`` (hex) or ``err:000``, ``N/A`` for what they do not
know, other field orders, the text in ``message_payload`` instead of ``short_message``, or no text
at all and only the TLVs ``receipted_message_id`` (0x001E) and ``message_state`` (0x0427). The
parser reads any of these; the ``receipted_message_id`` TLV wins over the id in the text.

Ids are matched the way SMSCs actually write them (`id_candidates`): case-insensitively, with
leading zeros ignored, and, for an SMSC that writes the submit_sm_resp id in hexadecimal and the
receipt's in decimal (or the other way round), in the other rendering too
(`smpp.receipt_id_format`: ``auto`` tries both, ``hex``/``decimal`` name the receipt's
rendering, ``string`` compares as text only).

    >>> r = parse_receipt("id:000397C9 sub:N/A dlvrd:001 submit date:261202011123 "
    ...                   "done date:261202011125 stat:DELIVRD err:0x0 text:Salam")
    >>> r.message_id, r.state, r.error, r.done_at
    ('000397C9', 'DELIVRD', 0, '261202011125')
    >>> id_candidates("235465", "auto")
    ['235465', '397c9']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from aiosmpplib.state import MESSAGE_STATE, NETWORK_ERROR_CODE, RECEIPTED_MESSAGE_ID

ReceiptIdFormat = Literal["auto", "hex", "decimal", "string"]


# SMPP 3.4, 5.2.28: message_state values, as the text's stat names them.
MESSAGE_STATES: Final[dict[int, str]] = {
    1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV", 6: "ACCEPTD",
    7: "UNKNOWN", 8: "REJECTD",
}  # fmt: skip
# Words some SMSCs write instead of the 7-letter names.
_STATE_ALIASES: Final = {"DELIVERED": "DELIVRD", "UNDELIVERABLE": "UNDELIV", "ACCEPTED": "ACCEPTD",
                         "REJECTED": "REJECTD"}

_FIELD_NAMES: Final = r"(?<![a-z])(id|sub|dlvrd|submit[ _]date|done[ _]date|stat|err|text)\s*:"
_FIELD: Final = re.compile(_FIELD_NAMES, re.IGNORECASE)
# Matched on the text in lower case: several times faster than IGNORECASE (every receipt is read).
_FIELD_LOWER: Final = re.compile(_FIELD_NAMES)
_NAME_KEYS: Final = {"submit date": "submit_date", "done date": "done_date"}
_UNKNOWN: Final = frozenset({"", "n/a", "na", "-", "null", "none"})
# The layout of SMPP 3.4 Appendix B exactly, as most SMSCs write it: read by one match, several
# times faster than field by field (`receipt_fields` falls back to that for any other layout).
# A value holds no colon, so one running into the next field's name ("err:000text:") does not
# match: the field-by-field reading takes it.
_APPENDIX_B: Final = re.compile(
    r"id:(?P<id>[^\s:]*) sub:(?P<sub>[^\s:]*) dlvrd:(?P<dlvrd>[^\s:]*)"
    r" submit date:(?P<submit_date>[^\s:]*) done date:(?P<done_date>[^\s:]*)"
    r" stat:(?P<stat>[^\s:]*) err:(?P<err>[^\s:]*)(?: text:(?P<text>.*))?",
    re.DOTALL)
_HEX_ID: Final = re.compile(r"[0-9a-f]+")
_DECIMAL_ID: Final = re.compile(r"[0-9]+")


class ReceiptUnreadable(ValueError):
    """A receipt with no message id anywhere: it cannot be correlated."""


@dataclass(frozen=True, slots=True)
class Receipt:
    message_id: str  # as the SMSC wrote it
    state: str  # DELIVRD, UNDELIV, ... ("UNKNOWN" when it did not say)
    error: int | None = None
    submitted_at: str = ""  # YYMMDDhhmm[ss], as written
    done_at: str = ""

    @property
    def final(self) -> bool:
        return self.state not in ("ENROUTE", "ACCEPTD", "UNKNOWN")


def receipt_fields(text: str) -> dict[str, str]:
    """The ``name:value`` fields of a receipt text, in any order; names lower case, spaces as
    ``_`` (``submit_date``); ``text`` runs to the end."""
    standard = _APPENDIX_B.fullmatch(text.strip())
    if standard is not None:
        fields = standard.groupdict()
        if fields["text"] is None:
            del fields["text"]
        else:
            fields["text"] = fields["text"].strip()
        return fields
    return _fields_in_any_layout(text)


def _fields_in_any_layout(text: str) -> dict[str, str]:
    lowered = text.lower()
    # Lower case keeps every offset, but for a few characters outside Latin-1 (İ).
    matches = list(_FIELD_LOWER.finditer(lowered) if len(lowered) == len(text) else _FIELD.finditer(text))
    fields: dict[str, str] = {}
    for index, match in enumerate(matches):
        name = match.group(1).lower()
        name = _NAME_KEYS.get(name, name)
        last = index + 1 == len(matches) or name == "text"
        end = len(text) if last else matches[index + 1].start()
        fields.setdefault(name, text[match.end():end].strip())
        if name == "text":
            break
    return fields


def parse_receipt(text: str, tlvs: dict[int, bytes] | None = None) -> Receipt:
    """A receipt from its text (may be "") and its TLVs; ReceiptUnreadable without any id."""
    tlvs = tlvs or {}
    fields = receipt_fields(text)
    message_id = _c_string(tlvs.get(RECEIPTED_MESSAGE_ID, b"")) or _known(fields.get("id", ""))
    if not message_id:
        raise ReceiptUnreadable("delivery receipt without a message id")
    return Receipt(
        message_id=message_id, state=_state(fields.get("stat", ""), tlvs.get(MESSAGE_STATE)),
        error=_error(fields.get("err", ""), tlvs.get(NETWORK_ERROR_CODE)),
        submitted_at=_known(fields.get("submit_date", "")), done_at=_known(fields.get("done_date", "")),
    )


def canonical_id(message_id: str) -> str:
    """An id as compared: lower case, leading zeros dropped (``000397C9`` -> ``397c9``)."""
    stripped = message_id.strip().lower().lstrip("0")
    return stripped or ("0" if message_id.strip() else "")


def id_candidates(receipt_id: str, id_format: ReceiptIdFormat = "auto") -> list[str]:
    """The canonical submit_sm_resp ids a receipt's id may stand for, most likely first."""
    given = canonical_id(receipt_id)
    as_string = [given] if given else []
    if id_format == "string" or not given:
        return as_string
    decimal_to_hex = [format(int(given), "x")] if _DECIMAL_ID.fullmatch(given) else []
    hex_to_decimal = [str(int(given, 16))] if _HEX_ID.fullmatch(given) else []
    if id_format == "decimal":  # the receipt writes in decimal what the resp wrote in hex
        return decimal_to_hex
    if id_format == "hex":  # the receipt writes in hex what the resp wrote in decimal
        return hex_to_decimal
    other = decimal_to_hex or hex_to_decimal
    return [*as_string, *(c for c in other if c != given)]


def _known(value: str) -> str:
    return "" if value.strip().lower() in _UNKNOWN else value.strip()


def _c_string(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("ascii", "replace").strip()


def _state(stat: str, tlv: bytes | None) -> str:
    if tlv and len(tlv) >= 1 and tlv[0] in MESSAGE_STATES:
        return MESSAGE_STATES[tlv[0]]
    word = _known(stat).upper()
    return _STATE_ALIASES.get(word, word) or "UNKNOWN"


def _error(err: str, tlv: bytes | None) -> int | None:
    """``err`` in decimal (``000``) or hex (``0x1f``); else the network_error_code's code."""
    value = _known(err).lower()
    try:
        return int(value, 16) if value.startswith("0x") else int(value) if value else _tlv_error(tlv)
    except ValueError:
        return _tlv_error(tlv)


def _tlv_error(tlv: bytes | None) -> int | None:
    """network_error_code: 1 octet network type, 2 octets error code."""
    return int.from_bytes(tlv[1:3], "big") if tlv is not None and len(tlv) == 3 else None

"""Split SMS text into SMPP short_message parts and read concatenation headers.

Pure functions, no I/O. The GSM 03.38 tables are aiosmpplib's (the codec the rest of the
gateway uses), so what is split here decodes the same way everywhere.

- GSM 03.38 (data_coding 0) is sent unpacked, one septet per octet; an extension-table
  character is two septets (ESC + code) and a pair is never split across parts.
- UCS-2 (data_coding 8) is UTF-16 big-endian; a surrogate pair is never split.
- IA5/ASCII (data_coding 1), only when asked for (``gsm_coding=IA5``, the setting
  ``smpp.gsm_data_coding``): one octet per character, and only for text whose every character
  is ASCII and in the GSM 03.38 basic table, so the SMSC's conversion to the air interface gives
  one septet per octet and the same part sizes as GSM; other GSM text still goes as data_coding 0.
- One part holds 160 septets / 70 UCS-2 units. A longer text is cut into parts of at most
  153 septets / 67 units, each prefixed with the 8-bit concatenation UDH
  ``05 00 03 ref total seq``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, NamedTuple

from aiosmpplib.codec import (
    ESCAPE,
    GSM_BASIC_ENCODE_MAP,
    GSM_EXTENDED_ENCODE_MAP,
    find_codec_info,
)

GSM: Final[int] = 0
IA5: Final[int] = 1
UCS2: Final[int] = 8
MAX_PARTS: Final[int] = 255
UDHI: Final[int] = 0x40  # esm_class bit: short_message starts with a user data header

IE_CONCAT_8BIT: Final[int] = 0x00
IE_CONCAT_16BIT: Final[int] = 0x08

# Octets available for user data, per data_coding: (single message, one part beside a 6-octet UDH).
_LIMITS: Final[dict[int, tuple[int, int]]] = {GSM: (160, 153), IA5: (160, 153), UCS2: (140, 134)}

# Codec used to turn reassembled user data back into text, per data_coding.
CODECS: Final[dict[int, str]] = {GSM: "gsm0338", 1: "ascii", 3: "latin-1", 4: "latin-1",
                                 UCS2: "utf-16-be"}


class Concat(NamedTuple):
    """Concatenation info of one part: reference, total parts, this part's number (from 1)."""

    ref: int
    total: int
    seq: int


_GSM_CHARACTERS: Final[frozenset[str]] = frozenset(GSM_BASIC_ENCODE_MAP) | frozenset(GSM_EXTENDED_ENCODE_MAP)
_IA5_CHARACTERS: Final[frozenset[str]] = frozenset(c for c in GSM_BASIC_ENCODE_MAP if c.isascii())
# Each character as the octets it is sent as (str.translate, then Latin-1: one octet each).
_GSM_OCTETS: Final[dict[int, str]] = {
    **{ord(c): chr(ESCAPE) + chr(code) for c, code in GSM_EXTENDED_ENCODE_MAP.items()},
    **{ord(c): chr(code) for c, code in GSM_BASIC_ENCODE_MAP.items()},
}


def is_gsm(text: str) -> bool:
    """True when every character is in the GSM 03.38 default alphabet or its extension table."""
    return _GSM_CHARACTERS.issuperset(text)


def is_ia5(text: str) -> bool:
    """True when every character is ASCII and one septet of the GSM 03.38 basic table."""
    return _IA5_CHARACTERS.issuperset(text)


def encode_parts(
    text: str, ref: int, *, data_coding: int | None = None, gsm_coding: int = GSM
) -> tuple[int, list[bytes]]:
    """Encode ``text`` and split it into short_message payloads.

    Returns ``(data_coding, parts)``. ``data_coding`` is chosen from the text (GSM when
    ``is_gsm``, else UCS-2) unless given (0 or 8); ``gsm_coding`` IA5 sends text that
    ``is_ia5`` as data_coding 1 instead of GSM. ``ref`` (0..255) goes in every part's UDH.
    Raises ValueError for a bad ref, a data_coding other than 0/8, a gsm_coding other than
    0/1, GSM forced on non-GSM text, or more than 255 parts.
    """
    if not 0 <= ref <= 0xFF:
        raise ValueError(f"concatenation ref must be 0..255, got {ref}")
    if gsm_coding not in (GSM, IA5):
        raise ValueError(f"gsm_coding must be {GSM} or {IA5}, got {gsm_coding}")
    coding = _choose_coding(text, data_coding)
    if coding == GSM and data_coding is None and gsm_coding == IA5 and is_ia5(text):
        coding = IA5
    single, per_part = _LIMITS[coding]
    whole = _WHOLE[coding](text)  # most replies are one part: no per-character work for them
    if len(whole) <= single:
        return coding, [whole]
    chunks = _chunk(_UNITS[coding](text), per_part)
    if len(chunks) > MAX_PARTS:
        raise ValueError(f"text needs {len(chunks)} parts, at most {MAX_PARTS} allowed")
    total = len(chunks)
    return coding, [concat_udh(ref, total, seq) + chunk for seq, chunk in enumerate(chunks, 1)]


def segment_count(text: str) -> int:
    """How many SMS parts ``text`` is sent as."""
    return len(encode_parts(text, 0)[1])


def concat_udh(ref: int, total: int, seq: int, *, wide: bool = False) -> bytes:
    """The concatenation UDH: 8-bit reference (``05 00 03 ..``) or 16-bit (``06 08 04 ..``)."""
    if wide:
        return bytes([6, IE_CONCAT_16BIT, 4]) + ref.to_bytes(2, "big") + bytes([total, seq])
    return bytes([5, IE_CONCAT_8BIT, 3, ref, total, seq])


def decode_udh(payload: bytes) -> tuple[Concat | None, bytes]:
    """Split a short_message that starts with a UDH (esm_class UDHI set) into concat info and body.

    Understands the 8-bit (IE 0x00) and 16-bit (IE 0x08) concatenation IEs; other IEs are
    skipped, and the info is None when there is no concatenation IE. Raises ValueError when the
    header is longer than the payload.
    """
    if not payload:
        raise ValueError("empty payload has no user data header")
    header_end = 1 + payload[0]
    if header_end > len(payload):
        raise ValueError(f"UDH length {payload[0]} exceeds payload of {len(payload)} octets")
    return _find_concat(payload[1:header_end]), payload[header_end:]


def decode_text(data_coding: int, payload: bytes) -> str:
    """Decode reassembled user data; unknown characters become replacement characters."""
    return decode_octets(CODECS.get(data_coding, "latin-1"), payload)


def decode_octets(codec: str, octets: bytes) -> str:
    """Text from user data in `codec`; what cannot be read becomes U+FFFD, never an error."""
    return str(find_codec_info(codec).decode(octets, "replace")[0])


def _choose_coding(text: str, data_coding: int | None) -> int:
    if data_coding is None:
        return GSM if is_gsm(text) else UCS2
    if data_coding not in (GSM, UCS2):
        raise ValueError(f"data_coding must be {GSM} or {UCS2}, got {data_coding}")
    if data_coding == GSM and not is_gsm(text):
        raise ValueError("text has characters outside the GSM 03.38 alphabet")
    return data_coding


def _gsm_units(text: str) -> list[bytes]:
    """One entry per character: its septet, or ESC + septet for the extension table."""
    return [
        bytes([GSM_BASIC_ENCODE_MAP[c]])
        if c in GSM_BASIC_ENCODE_MAP
        else bytes([ESCAPE, GSM_EXTENDED_ENCODE_MAP[c]])
        for c in text
    ]


def _ucs2_units(text: str) -> list[bytes]:
    """One entry per character: 2 octets, or 4 for a surrogate pair."""
    return [c.encode("utf-16-be") for c in text]


def _ia5_units(text: str) -> list[bytes]:
    return [c.encode("ascii") for c in text]


_UNITS: Final[dict[int, Callable[[str], list[bytes]]]] = {
    GSM: _gsm_units, IA5: _ia5_units, UCS2: _ucs2_units,
}  # fmt: skip
_WHOLE: Final[dict[int, Callable[[str], bytes]]] = {
    GSM: lambda text: text.translate(_GSM_OCTETS).encode("latin-1"),
    IA5: lambda text: text.encode("ascii"),
    UCS2: lambda text: text.encode("utf-16-be"),
}


def _chunk(units: list[bytes], limit: int) -> list[bytes]:
    """Greedily pack whole units into chunks of at most ``limit`` octets."""
    chunks: list[bytes] = []
    current = b""
    for unit in units:
        if len(current) + len(unit) > limit:
            chunks.append(current)
            current = b""
        current += unit
    chunks.append(current)
    return chunks


def _find_concat(elements: bytes) -> Concat | None:
    index = 0
    while index + 2 <= len(elements):
        ie_id, length = elements[index], elements[index + 1]
        data = elements[index + 2 : index + 2 + length]
        if ie_id == IE_CONCAT_8BIT and len(data) == length == 3:
            return Concat(data[0], data[1], data[2])
        if ie_id == IE_CONCAT_16BIT and len(data) == length == 4:
            return Concat(int.from_bytes(data[:2], "big"), data[2], data[3])
        index += 2 + length
    return None

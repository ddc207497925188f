"""smpp.segmentation: GSM 03.38 / UCS-2 splitting and concatenation headers."""

from __future__ import annotations

import pytest

from smpp.segmentation import (
    Concat,
    concat_udh,
    decode_text,
    decode_udh,
    encode_parts,
    is_gsm,
    segment_count,
)

PERSIAN = "سلام، دستگاه شما با موفقیت بازیابی شد. "  # 39 characters, all in the BMP
UDH_LEN = 6


def persian(length: int) -> str:
    return (PERSIAN * (length // len(PERSIAN) + 1))[:length]


def bodies(parts: list[bytes]) -> list[bytes]:
    return [decode_udh(part)[1] for part in parts]


def reassemble(data_coding: int, parts: list[bytes]) -> str:
    payloads = bodies(parts) if len(parts) > 1 else parts
    return decode_text(data_coding, b"".join(payloads))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello @home, 100£ & ¥5 ÄÖÑÜ§¿", True),
        ("braces {} [] ~ | ^ \\ €", True),
        ("", True),
        ("سلام", False),
        ("café ç", False),  # ç is not in GSM 03.38 (only Ç is)
        ("smile 😀", False),
    ],
)
def test_is_gsm(text: str, expected: bool) -> None:
    assert is_gsm(text) is expected


@pytest.mark.parametrize(
    ("text", "data_coding", "sizes"),
    [
        ("a" * 160, 0, [160]),
        ("a" * 161, 0, [153, 8]),
        ("a" * 306, 0, [153, 153]),
        ("a" * 307, 0, [153, 153, 1]),
        (persian(70), 8, [140]),
        (persian(71), 8, [134, 8]),
        (persian(134), 8, [134, 134]),
        ("€" * 80, 0, [160]),  # 80 extension characters are 160 septets
        ("€" * 81, 0, [152, 10]),  # 76 pairs fit in 153 septets, never half a pair
    ],
)
def test_part_sizes(text: str, data_coding: int, sizes: list[int]) -> None:
    coding, parts = encode_parts(text, 7)
    assert coding == data_coding
    assert [len(body) for body in (bodies(parts) if len(parts) > 1 else parts)] == sizes
    assert segment_count(text) == len(sizes)
    assert reassemble(coding, parts) == text


def test_single_part_has_no_udh() -> None:
    assert encode_parts("Hi", 1) == (0, [b"Hi"])
    assert encode_parts("سلام", 1) == (8, ["سلام".encode("utf-16-be")])


def test_concatenated_parts_carry_8bit_udh() -> None:
    coding, parts = encode_parts(persian(150), 0x2A)
    assert coding == 8
    assert [part[:UDH_LEN] for part in parts] == [
        bytes([0x05, 0x00, 0x03, 0x2A, 3, seq]) for seq in (1, 2, 3)
    ]
    assert all(len(part) <= 140 for part in parts)


def test_extension_pair_is_not_split_at_boundary() -> None:
    text = "a" * 152 + "€" + "b" * 10  # the € would straddle septets 153/154
    _, parts = encode_parts(text, 3)
    first, second = bodies(parts)
    assert first == b"a" * 152
    assert second.startswith(b"\x1b\x65")
    assert reassemble(0, parts) == text


def test_extension_char_pushes_gsm_text_over_one_part() -> None:
    assert segment_count("a" * 159 + "[") == 2  # "[" is ESC + 0x3C: 161 septets
    assert segment_count("a" * 158 + "[") == 1
    _, parts = encode_parts("a" * 159 + "[", 0)
    assert bodies(parts)[0] == b"a" * 153


def test_surrogate_pair_is_not_split_at_boundary() -> None:
    text = "ا" * 66 + "😀" + "ب" * 10  # 78 UTF-16 units; the emoji would straddle units 67/68
    coding, parts = encode_parts(text, 9)
    first, second = bodies(parts)
    assert coding == 8
    assert first.decode("utf-16-be") == "ا" * 66
    assert second.decode("utf-16-be") == "😀" + "ب" * 10  # each part decodes on its own


def test_surrogates_count_as_two_units() -> None:
    assert segment_count("😀" * 35) == 1  # 70 units
    assert segment_count("😀" * 35 + "a") == 2


def test_forced_data_coding() -> None:
    assert encode_parts("Hi", 0, data_coding=8) == (8, ["Hi".encode("utf-16-be")])
    with pytest.raises(ValueError, match=r"outside the GSM 03\.38 alphabet"):
        encode_parts("سلام", 0, data_coding=0)
    with pytest.raises(ValueError, match="data_coding must be 0 or 8, got 3"):
        encode_parts("Hi", 0, data_coding=3)


@pytest.mark.parametrize("ref", [-1, 256])
def test_ref_must_fit_one_octet(ref: int) -> None:
    with pytest.raises(ValueError, match=r"concatenation ref must be 0\.\.255"):
        encode_parts("Hi", ref)


def test_too_many_parts_is_refused() -> None:
    with pytest.raises(ValueError, match="text needs 256 parts, at most 255 allowed"):
        encode_parts("a" * 153 * 256, 0)


@pytest.mark.parametrize(
    ("payload", "concat", "body"),
    [
        (bytes.fromhex("0500032a0302") + b"hi", Concat(0x2A, 3, 2), b"hi"),
        (bytes.fromhex("060804123403") + b"\x01" + b"hi", Concat(0x1234, 3, 1), b"hi"),
        # a port-addressing IE (0x05) before the concatenation IE
        (bytes.fromhex("0b05040b8423f00003ff0201") + b"x", Concat(0xFF, 2, 1), b"x"),
        (bytes.fromhex("020500") + b"no concat", None, b"no concat"),
    ],
)
def test_decode_udh(payload: bytes, concat: Concat | None, body: bytes) -> None:
    assert decode_udh(payload) == (concat, body)


def test_decode_udh_rejects_truncated_header() -> None:
    with pytest.raises(ValueError, match="UDH length 5 exceeds payload of 3 octets"):
        decode_udh(bytes.fromhex("050003"))
    with pytest.raises(ValueError, match="empty payload has no user data header"):
        decode_udh(b"")


def test_concat_udh_round_trips() -> None:
    assert decode_udh(concat_udh(200, 4, 3) + b"z") == (Concat(200, 4, 3), b"z")
    assert decode_udh(concat_udh(0xBEEF, 4, 3, wide=True) + b"z") == (Concat(0xBEEF, 4, 3), b"z")


@pytest.mark.parametrize(
    ("data_coding", "payload", "text"),
    [
        (0, b"\x1b\x65 5\x00", "€ 5@"),
        (8, "سلام".encode("utf-16-be"), "سلام"),
        (3, "café".encode("latin-1"), "café"),
    ],
)
def test_decode_text(data_coding: int, payload: bytes, text: str) -> None:
    assert decode_text(data_coding, payload) == text

"""Delivery receipts as real SMSCs write them (smpp/receipts.py), one row per habit."""

from __future__ import annotations

import pytest
from aiosmpplib.state import MESSAGE_STATE, NETWORK_ERROR_CODE, RECEIPTED_MESSAGE_ID
from hypothesis import given
from hypothesis import strategies as st

from smpp.receipts import (
    ReceiptIdFormat,
    ReceiptUnreadable,
    _fields_in_any_layout,
    canonical_id,
    id_candidates,
    parse_receipt,
    receipt_fields,
)

STANDARD = ("id:1a2b3c sub:001 dlvrd:001 submit date:2612020111 done date:2612020112 "
            "stat:DELIVRD err:000 text:Salam")


@pytest.mark.parametrize(
    ("text", "tlvs", "expected"),
    [
        (STANDARD, {}, ("1a2b3c", "DELIVRD", 0, "2612020111", "2612020112")),
        ("id:000397C9 sub:001 dlvrd:001 submit date:261202011123 done date:261202011125 "
         "stat:DELIVRD err:000 text:", {}, ("000397C9", "DELIVRD", 0, "261202011123", "261202011125")),
        ("id:77 sub:001 dlvrd:000 submit date:2612020111 done date:2612020111 stat:UNDELIV err:0x1f",
         {}, ("77", "UNDELIV", 31, "2612020111", "2612020111")),
        ("id:77 sub:N/A dlvrd:N/A submit date:N/A done date:N/A stat:EXPIRED err:N/A text:N/A",
         {}, ("77", "EXPIRED", None, "", "")),
        ("stat:DELIVRD err:0 id:abc done date:2612020112 submit date:2612020111", {},
         ("abc", "DELIVRD", 0, "2612020111", "2612020112")),
        ("ID:abc STAT:delivered ERR:000", {}, ("abc", "DELIVRD", 0, "", "")),
        ("", {RECEIPTED_MESSAGE_ID: b"5F00A1\x00", MESSAGE_STATE: bytes([5]),
              NETWORK_ERROR_CODE: bytes([3, 0, 21])}, ("5F00A1", "UNDELIV", 21, "", "")),
        # the TLV id wins over the text's (some SMSCs write another rendering in the text)
        (STANDARD, {RECEIPTED_MESSAGE_ID: b"0001a2b3c\x00"}, ("0001a2b3c", "DELIVRD", 0,
                                                             "2612020111", "2612020112")),
        ("id:9 stat:DELIVRD text:id:1 stat:UNDELIV", {}, ("9", "DELIVRD", None, "", "")),
    ],
)  # fmt: skip
def test_receipt_formats(text: str, tlvs: dict[int, bytes], expected: tuple[object, ...]) -> None:
    receipt = parse_receipt(text, tlvs)
    assert (receipt.message_id, receipt.state, receipt.error, receipt.submitted_at,
            receipt.done_at) == expected


@pytest.mark.parametrize("text", ["", "sub:001 dlvrd:001 stat:DELIVRD", "id:N/A stat:DELIVRD"])
def test_a_receipt_without_any_id_is_unreadable(text: str) -> None:
    with pytest.raises(ReceiptUnreadable, match="without a message id"):
        parse_receipt(text)


@pytest.mark.parametrize(
    ("given", "canonical"),
    [("000397C9", "397c9"), ("000397d1ab", "397d1ab"), (" AbC ", "abc"), ("0000", "0"), ("", "")],
)
def test_canonical_ids(given: str, canonical: str) -> None:
    assert canonical_id(given) == canonical


@pytest.mark.parametrize(
    ("receipt_id", "id_format", "candidates"),
    [
        ("235465", "auto", ["235465", "397c9"]),  # decimal in the receipt, hex in the resp
        ("397C9", "auto", ["397c9", "235465"]),  # hex in the receipt, decimal in the resp
        ("000397D1AB", "auto", ["397d1ab", "60281259"]),
        ("235465", "decimal", ["397c9"]),
        ("397c9", "hex", ["235465"]),
        ("397C9", "string", ["397c9"]),
        ("msg-7", "auto", ["msg-7"]),  # not a number in either base: as written only
    ],
)
def test_id_candidates(receipt_id: str, id_format: ReceiptIdFormat, candidates: list[str]) -> None:
    assert id_candidates(receipt_id, id_format) == candidates


_VALUE = st.text(st.characters(min_codepoint=33, max_codepoint=0x6FF), max_size=12)


@given(st.lists(_VALUE, min_size=7, max_size=7), st.lists(st.sampled_from([" ", "", "  "]), min_size=7,
                                                          max_size=7),
       st.one_of(st.none(), st.text(max_size=30)))
def test_the_appendix_b_layout_reads_as_any_layout_does(values: list[str], gaps: list[str],
                                                        text: str | None) -> None:
    """The one-match reading of the standard layout gives what the field-by-field one gives,
    also for values holding a colon or running into the next field's name."""
    names = ("id", "sub", "dlvrd", "submit date", "done date", "stat", "err")
    receipt = "".join(f"{gap}{name}:{value}" for gap, name, value in zip(gaps, names, values, strict=True))
    if text is not None:
        receipt += f" text:{text}"
    assert receipt_fields(receipt) == _fields_in_any_layout(receipt)


@pytest.mark.parametrize("text", [
    "id:7 sub:001 dlvrd:001 submit date:2612020111 done date:2612020111 stat:DELIVRD err:000text:",
    "id:7sub:1 sub:001 dlvrd:001 submit date:2612020111 done date:2612020111 stat:DELIVRD err:0",
])
def test_a_value_running_into_the_next_field_is_read_field_by_field(text: str) -> None:
    assert receipt_fields(text) == _fields_in_any_layout(text)

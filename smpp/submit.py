"""Turning a reply text into submit_sm PDUs: UCS-2 or GSM 03.38, concatenated with a UDH.

`Addressing` is what one deployment's submit_sm carry besides the text, from settings
(``smpp.source_ton`` … ``smpp.gsm_data_coding``): the source address and its TON/NPI, the
TON/NPI of the subscriber's number, and the data_coding for text that fits GSM 03.38.
Numbering (SMPP 3.4, 5.2.5 and 5.2.6): TON 0 unknown, 1 international, 2 national,
3 network-specific, 4 subscriber number, 5 alphanumeric, 6 abbreviated; NPI 0 unknown,
1 ISDN (E.164), 3 data, 4 telex, 6 land mobile, 8 national, 9 private, 10 ERMES,
14 internet, 18 WAP client id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from aiosmpplib import NPI, TON, PhoneNumber, SubmitSm

from smpp.segmentation import GSM, IA5, encode_parts

UDHI = 0x40
UCS2 = 8
REQUEST_RECEIPT = 0x01
TONS: Final = frozenset(ton.value for ton in TON)
NPIS: Final = frozenset(npi.value for npi in NPI)
ENCODINGS: Final[dict[int, str | None]] = {GSM: None, IA5: "ascii", UCS2: "ucs2"}


@dataclass(frozen=True, slots=True)
class Addressing:
    source: str
    source_ton: int = 3  # network-specific: a shortcode
    source_npi: int = 0  # unknown
    destination_ton: int = 1  # international (98912...)
    destination_npi: int = 1  # ISDN (E.164)
    gsm_data_coding: int = GSM  # or IA5 (1): see smpp.segmentation

    def __post_init__(self) -> None:
        for name in ("source_ton", "destination_ton"):
            if getattr(self, name) not in TONS:
                raise ValueError(f"{name} {getattr(self, name)} is not an SMPP TON")
        for name in ("source_npi", "destination_npi"):
            if getattr(self, name) not in NPIS:
                raise ValueError(f"{name} {getattr(self, name)} is not an SMPP NPI")
        if self.gsm_data_coding not in (GSM, IA5):
            raise ValueError(f"gsm_data_coding must be {GSM} or {IA5}, got {self.gsm_data_coding}")

    def source_address(self) -> PhoneNumber:
        return PhoneNumber(self.source, TON(self.source_ton), NPI(self.source_npi))

    def destination_address(self, number: str) -> PhoneNumber:
        return PhoneNumber(number, TON(self.destination_ton), NPI(self.destination_npi))


def build_parts(text: str, destination: str, addressing: Addressing, ref: int) -> list[SubmitSm]:
    """One submit_sm per segment, each asking for a delivery receipt."""
    data_coding, parts = encode_parts(text, ref % 256, gsm_coding=addressing.gsm_data_coding)
    esm_class = UDHI if len(parts) > 1 else 0
    return [_submit(part, data_coding, esm_class, destination, addressing) for part in parts]


def _submit(
    payload: bytes, data_coding: int, esm_class: int, destination: str, addressing: Addressing
) -> SubmitSm:
    message = SubmitSm(
        short_message="-",  # placeholder; the encoded payload below is what goes on the wire
        source=addressing.source_address(),
        destination=addressing.destination_address(destination),
        esm_class=esm_class,
        registered_delivery=REQUEST_RECEIPT,
        encoding=ENCODINGS[data_coding],
        auto_message_payload=False,
    )
    message.set_encoded_message(payload)
    return message

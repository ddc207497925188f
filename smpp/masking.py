"""Phone numbers as the SMPP layer logs them: never whole.

The client and the simulator log addresses exactly as they come on the wire (international
digits, short codes), so masking here needs no knowledge of any country's numbering plan.
"""

from __future__ import annotations

from typing import Final

# Longer than this many digits is a subscriber number (first and last four shown); shorter
# is a short code or something unreadable, shown as nothing at all.
MAX_SHORT_DIGITS: Final = 8


def mask_number(number: str) -> str:
    """Mask a phone number for logs: ``09121234567`` -> ``0912***4567``; short codes -> ``***``."""
    digits = "".join(c for c in number if c.isdigit())
    return f"{digits[:4]}***{digits[-4:]}" if len(digits) > MAX_SHORT_DIGITS else "***"


def mask_address(number: str) -> str:
    """An SMPP address for the PDU trace: a subscriber number as `mask_number` shows it, a short
    code or an alphanumeric sender (not personal, and what the trace is read for) as it is."""
    digits = sum(c.isdigit() for c in number)
    return mask_number(number) if digits > MAX_SHORT_DIGITS else number

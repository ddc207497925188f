"""What the receipt correlator stores for an accepted part, and reads back (both formats)."""

from __future__ import annotations

import json

from gateway.store.receipts import ReceiptTarget, _target


def test_a_stored_part_reads_back_with_the_slash_in_its_outbound_id() -> None:
    assert _target("1733000000000-0/2/2/3") == ReceiptTarget("1733000000000-0/2", 2, 3)


def test_a_part_stored_as_json_by_an_earlier_version_still_reads() -> None:
    stored = json.dumps({"outbound_id": "1733000000000-0/0", "part": 1, "parts": 1})
    assert _target(stored) == ReceiptTarget("1733000000000-0/0", 1, 1)

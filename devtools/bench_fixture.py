"""The benchmark's subscribers: subscriber i owns one detached device on an expired SIM and
texts from an active one, so every dialog is a complete restore (DESIGN §4 fixture format)."""

from __future__ import annotations


def bench_fixture(count: int, first: int = 0) -> dict[str, list[dict[str, str]]]:
    people, sims, devices = [], [], []
    for i in range(first, first + count):
        nid = national_id(i + 1)
        people.append({"national_id": nid, "birth_date": "1370/01/01"})
        sims.append({"msisdn": old_number(i), "owner": nid, "status": "expired"})
        sims.append({"msisdn": new_msisdn(i), "owner": nid, "status": "active"})
        devices.append({"imei": imei(i), "sim": old_number(i), "registered_owner": nid})
    return {"people": people, "sims": sims, "devices": devices}


def old_number(i: int) -> str:
    return f"0935{i:07d}"


def new_msisdn(i: int) -> str:
    return f"0936{i:07d}"


def national_id(i: int) -> str:
    first = f"{i:09d}"
    r = sum(int(d) * (10 - k) for k, d in enumerate(first)) % 11
    return first + str(r if r < 2 else 11 - r)


def imei(i: int) -> str:
    """A valid (Luhn) IMEI for subscriber i."""
    body = f"35{i:012d}"
    total = 0
    for k, d in enumerate(reversed(body)):
        v = int(d) * (2 if k % 2 == 0 else 1)
        total += v - 9 if v > 9 else v
    return body + str((10 - total % 10) % 10)

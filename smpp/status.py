"""What to do with each SMSC answer to a submit_sm: a table, because operators differ."""

from __future__ import annotations

from enum import StrEnum

from aiosmpplib import SmppCommandStatus as S


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    THROTTLED = "throttled"  # slow down, then send the same PDU again
    RETRY = "retry"  # temporary: send the same PDU again after a backoff
    REJECTED = "rejected"  # permanent: retrying cannot help


SUBMIT_OUTCOMES: dict[S, Outcome] = {
    S.ESME_ROK: Outcome.ACCEPTED,
    S.ESME_RTHROTTLED: Outcome.THROTTLED,
    S.ESME_RMSGQFUL: Outcome.THROTTLED,
    S.ESME_RX_T_APPN: Outcome.RETRY,
    S.ESME_RSYSERR: Outcome.RETRY,
    S.ESME_RSUBMITFAIL: Outcome.RETRY,
    S.ESME_RINVBNDSTS: Outcome.RETRY,
    S.ESME_RUNKNOWNERR: Outcome.RETRY,
    S.ESME_RINVDSTADR: Outcome.REJECTED,
    S.ESME_RINVSRCADR: Outcome.REJECTED,
    S.ESME_RINVMSGLEN: Outcome.REJECTED,
    S.ESME_RINVESMCLASS: Outcome.REJECTED,
    S.ESME_RX_P_APPN: Outcome.REJECTED,
    S.ESME_RX_R_APPN: Outcome.REJECTED,
}


def classify(status: S, generic_nack: bool = False) -> Outcome:
    """Unknown statuses are retried: a message is never dropped on an answer we don't know."""
    if generic_nack:
        return Outcome.RETRY
    return SUBMIT_OUTCOMES.get(status, Outcome.RETRY)

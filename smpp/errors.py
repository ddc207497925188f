"""Every error the SMPP layer raises, in one tree. ``retryable`` says whether doing the same
thing again (after a backoff) can succeed.

    SmppError                              retryable
     ├── SubmitFailed                      yes  a request got no response (timeout, or the link was lost)
     ├── BindRefused                       yes  the SMSC refused the bind or answered it with something else
     ├── PduFramingError (ValueError)      no   the bytes are not an SMPP PDU: drop the link
     ├── UndecodablePdu (ValueError)       no   a well-framed PDU whose body cannot be read: answer an error
     ├── UssdTlvError (ValueError)         no   a ussd_service_op that is not one octet
     ├── UnknownUssdOp (ValueError)        no   an op code the dialect does not list for incoming PDUs
     ├── NoReceiverBound (RuntimeError)    no   simulator: an MO has no ESME bound to take it
     └── UssdStateError (RuntimeError)     no   simulator: the subscriber acted out of turn

The PDU and USSD errors keep ValueError as a second base, and the simulator's RuntimeError, so
callers that catch those still do. Not retryable there means the same bytes (or the same call
in the same state) never give another answer.
"""

from __future__ import annotations

from typing import ClassVar


class SmppError(Exception):
    """The root of the SMPP layer's errors; ``retryable`` is set by each subclass."""

    retryable: ClassVar[bool] = False


class SubmitFailed(SmppError):
    """A request (submit_sm, enquire_link, unbind) got no response: it timed out, or the link
    was lost or never up. Retryable: the same PDU may well get through on the next bind."""

    retryable: ClassVar[bool] = True


class BindRefused(SmppError):
    """The SMSC answered the bind with an error status or with another command. Retryable:
    the client binds again after a backoff (the SMSC may be restarting or full)."""

    retryable: ClassVar[bool] = True


class PduFramingError(SmppError, ValueError):
    """The peer sent bytes that are not an SMPP PDU (a length out of range); the connection
    must be dropped. Not retryable: the same bytes never frame differently."""

    retryable: ClassVar[bool] = False

    def __init__(self, message: str, sequence: int) -> None:
        super().__init__(message)
        self.sequence = sequence


class UndecodablePdu(SmppError, ValueError):
    """A framed PDU whose body cannot be read; the peer gets an error status. Not retryable:
    the same bytes never decode differently."""

    retryable: ClassVar[bool] = False


class UssdTlvError(SmppError, ValueError):
    """ussd_service_op is not a single octet. Not retryable: the PDU never reads differently."""

    retryable: ClassVar[bool] = False


class UnknownUssdOp(SmppError, ValueError):
    """The dialect lists no incoming meaning for this op code. Not retryable: the same op code
    means nothing in that dialect the next time either."""

    retryable: ClassVar[bool] = False

    def __init__(self, dialect: str, op: int) -> None:
        super().__init__(f"ussd_service_op {op} means nothing in dialect {dialect!r}")
        self.op = op


class NoReceiverBound(SmppError, RuntimeError):
    """Simulator: no ESME is bound as receiver or transceiver to take a deliver_sm. Not
    retryable as it stands: a test must bind an ESME first."""

    retryable: ClassVar[bool] = False


class UssdStateError(SmppError, RuntimeError):
    """Simulator: the subscriber acted out of turn (no screen to answer, or the dialogue has
    ended). Not retryable: it is a mistake in the test or console driving the dialogue."""

    retryable: ClassVar[bool] = False

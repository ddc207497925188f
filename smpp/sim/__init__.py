"""The built-in SMSC simulator (`hamta-gateway smsc`): a real SMPP 3.4 server on a TCP port with
a test API, for the demo, the phone console, the benchmark and the tests. Not used by the
gateway's runtime (tests/unit/test_layers.py checks).

    server.py    the listener, binds, submit_sm handling, fault knobs, the test API
    session.py   one ESME connection: framing, requests and their responses
    inbox.py     MT parts reassembled into messages, waited on by destination
    pdus.py      deliver_sm / receipt / submit_sm building and reading
    ussd.py      USSD dialogues as the network would run them
    standalone.py  running it on its own until a signal (the CLI)
"""

from smpp.errors import NoReceiverBound, UssdStateError
from smpp.masking import mask_number
from smpp.sim.pdus import MtMessage
from smpp.sim.server import SmscSimulator
from smpp.sim.standalone import run_simulator
from smpp.sim.ussd import UssdDialogue, UssdScreen

__all__ = [
    "MtMessage",
    "NoReceiverBound",
    "SmscSimulator",
    "UssdDialogue",
    "UssdScreen",
    "UssdStateError",
    "mask_number",
    "run_simulator",
]

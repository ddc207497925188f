"""`exit_by`: the last resort of a stop holds the deadline even when the event loop is stuck."""

from __future__ import annotations

import subprocess
import sys
import time

from tests.processes import ROOT

STUCK = """
import logging, time
from gateway.stopping import exit_by
logging.basicConfig(level=logging.INFO)
exit_by(0.3)
time.sleep(30)  # a blocked loop: nothing graceful can run
"""


def test_a_stuck_stop_is_ended_at_its_deadline_with_a_log_line() -> None:
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", STUCK], cwd=ROOT, capture_output=True, text=True,
                            timeout=20)
    assert result.returncode == 1
    assert time.monotonic() - started < 10  # not the 30 s sleep
    assert "stop overran its 0.3s budget; exiting now" in result.stderr

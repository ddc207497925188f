"""`hamta-gateway demo --script`: the shipped conversation runs end to end and reads right."""

from __future__ import annotations

import os
import subprocess
import sys

from devtools.demo import DEMO_SCRIPT


def test_demo_script_completes_a_restore_and_a_password_recovery() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAMTA_")}  # private redis
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "demo", "--script", str(DEMO_SCRIPT)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    transcript = result.stdout
    assert "…7518 به کارتابل همین سیم‌کارت منتقل شد" in transcript  # Sara's restore
    assert "was moved to your national-ID cartable" in transcript  # into a national-ID cartable
    assert "هنوز در کارتابل شماره \u200e0913***0005" in transcript  # still attached
    assert "افزوده شد و ۲ دستگاه" in transcript  # password recovery added the SIM
    assert "رمز جدید همتا:" in transcript
    assert "0912***0014" in transcript  # R6 names the usable number, masked
    assert "(no reply)" not in transcript


def test_demo_ussd_script_restores_a_device() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAMTA_")}
    script = DEMO_SCRIPT.with_name("demo-ussd-script.txt")
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "demo", "--ussd", "--script", str(script)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "SMS < کد تأیید همتا" in result.stdout  # the code came by SMS
    assert "…7518 به کارتابل همین سیم‌کارت منتقل شد" in result.stdout
    assert result.stdout.rstrip().endswith("[end]")

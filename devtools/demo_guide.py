"""The demo's first screen: three numbers of the demo registry and what each can do, and where
the full tour is. Shown when `hamta-gateway demo` starts and again on `/help`;
tests/unit/test_demo_guide.py plays every example through the flows against the demo registry,
so the screen cannot promise what the registry does not hold."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Example:
    number: str  # the number to be (`/as NUMBER`)
    does: str  # what it shows
    inputs: tuple[str, ...]  # what to type, in order; {code} is the code texted


EXAMPLES: tuple[Example, ...] = (
    Example("09361110003", "restore a device (R1, R4)",
            ("1", "490154203237518", "09351110002", "{code}")),
    Example("09121110010", "recover the cartable password (R3, R5)",
            ("2", "5512345672", "1368/02/20", "{code}")),
    Example("09191110015", "refused: another cartable SIM is usable (R6)",
            ("2", "7734567894", "1380/12/29")),
)
SCRIPT = "devtools/data/demo-script.txt"
USSD_SCRIPT = "devtools/data/demo-ussd-script.txt"


def guide(ussd: bool = False, dial: str = "*7777#") -> str:
    """The lines of the first screen (and of `/help`)."""
    start = f"/dial ({dial}), then " if ussd else ""
    lines = ["Demo registry: switch with /as NUMBER, then type (`{code}` is the code you got):"]
    for example in EXAMPLES:
        lines.append(f"  {example.number}  {example.does}: {start}{' > '.join(example.inputs)}")
    script, flag = (USSD_SCRIPT, "--ussd ") if ussd else (SCRIPT, "")
    lines.append(f"The whole tour, every rule: hamta-gateway demo {flag}--script {script}")
    return "\n".join(lines)

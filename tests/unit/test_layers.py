"""The layering of DESIGN §3: flows/ never imports SMPP, HTTP or Redis; smpp/ never the dialog."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "flows": ("smpp", "gateway", "aiosmpplib", "aiohttp", "redis"),
    "smpp": ("gateway", "flows.dialog", "flows.restore", "flows.password", "flows.ussd"),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_do_not_import_what_they_must_not_know(package: str) -> None:
    for path in sorted((ROOT / package).glob("*.py")):
        for name in _imports(path):
            assert not name.startswith(FORBIDDEN[package]), f"{path.name} imports {name}"

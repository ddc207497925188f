"""The layering of docs/architecture.md, checked on the source (no imports are executed):

- `flows/` knows dialogs only: no SMPP, HTTP, Redis or other I/O library, nothing of ours else;
- `smpp/` (the ESME and its simulator) knows SMPP only: nothing of `flows/`, `gateway/`, `devtools/`;
- the runtime (`gateway/`) imports no dev tool and not the simulator; only the CLI reaches them,
  from inside the command that needs them;
- nothing shipped imports the tests;
- the literal types shared by the layers are defined once.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IO_LIBRARIES = ("aiosmpplib", "aiohttp", "redis", "asyncio", "socket", "ssl", "subprocess", "http")
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "flows": ("smpp", "gateway", "devtools", "tests", *IO_LIBRARIES),
    "smpp": ("flows", "gateway", "devtools", "tests"),
    "gateway": ("devtools", "smpp.sim", "tests"),
    "devtools": ("tests",),
}
# Reached only from inside a command function, so `run` never loads them.
LAZY_ONLY = {"gateway/cli.py": ("devtools", "smpp.sim")}
SHARED_TYPES = ("Channel", "ReplyKind", "Transport", "UssdEvent", "Language", "SimStatus")


def _modules(package: str) -> Iterator[Path]:
    yield from sorted((ROOT / package).rglob("*.py"))


def _imports(tree: ast.AST) -> Iterator[tuple[str, ast.stmt]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node


def _is_under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_import_only_what_they_may_know(package: str) -> None:
    for path in _modules(package):
        relative = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        lazy = LAZY_ONLY.get(relative, ())
        top_level = {id(node) for node in getattr(tree, "body", [])}
        for name, node in _imports(tree):
            for prefix in FORBIDDEN[package]:
                if not _is_under(name, prefix):
                    continue
                allowed = prefix in lazy and id(node) not in top_level
                assert allowed, f"{relative}:{node.lineno} imports {name}"


def test_the_cli_reaches_dev_tools_only_lazily() -> None:
    tree = ast.parse((ROOT / "gateway/cli.py").read_text(encoding="utf-8"))
    top_level = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    lazy = [name for node in top_level for name, _ in _imports(node)
            if any(_is_under(name, p) for p in LAZY_ONLY["gateway/cli.py"])]
    assert lazy == []


def test_shared_literal_types_are_defined_once() -> None:
    where: dict[str, list[str]] = {name: [] for name in SHARED_TYPES}
    for package in FORBIDDEN:
        for path in _modules(package):
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                targets = (node.targets if isinstance(node, ast.Assign)
                           else [node.target] if isinstance(node, ast.AnnAssign) else [])
                for target in targets:
                    if isinstance(target, ast.Name) and target.id in where:
                        where[target.id].append(path.relative_to(ROOT).as_posix())
    assert {name: len(paths) for name, paths in where.items()} == dict.fromkeys(SHARED_TYPES, 1), where


def test_one_registry_interface() -> None:
    """The flows' `Registry` Protocol is the only registry interface; stores implement it."""
    found = []
    for package in FORBIDDEN:
        for path in _modules(package):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef) and node.name.endswith(("Registry", "RegistryPort")):
                    bases = {ast.unparse(base) for base in node.bases}
                    if bases & {"Protocol", "ABC", "typing.Protocol", "abc.ABC"}:
                        found.append(f"{path.relative_to(ROOT).as_posix()}:{node.name}")
    assert found == ["flows/ports.py:Registry"]

"""The layout is the architecture: each room imports only what its package docstring allows.

A room is a package of fieldapp (tally, field, sync, …); the core is the modules beside them.
Each room's __init__.py says "May import: the core, tally and field." and this test holds every
import of every module to it, so a view cannot reach up into a room above it unnoticed. The
core imports no room, but for the three modules that wire the rooms together.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "fieldapp"
ROOMS = sorted(p.name for p in APP.iterdir() if (p / "__init__.py").is_file())
WIRING = {"__init__.py", "commands.py", "demo.py"}  # the factory, the CLI and the demo ward


def allowed(room: str) -> set[str]:
    """The rooms a room's docstring lets it import ("the core" is always allowed)."""
    doc = ast.get_docstring(ast.parse((APP / room / "__init__.py").read_text())) or ""
    line = re.search(r"^May import: (.+)\.$", doc, re.MULTILINE)
    assert line, f"fieldapp/{room}/__init__.py does not say what it may import"
    names = set(re.split(r", | and ", line.group(1)))
    assert "the core" in names, line.group(0)
    return names - {"the core"}


def imported_rooms(path: Path) -> set[str]:
    """Which rooms a module imports, whether by relative or absolute import."""
    package = ["fieldapp", *path.relative_to(APP).parts[:-1]]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package[: len(package) - (node.level - 1)]
            target = base + (node.module.split(".") if node.module else [])
        elif node.module and node.module.split(".")[0] == "fieldapp":
            target = node.module.split(".")
        else:
            continue
        heads = [target[1]] if len(target) > 1 else [alias.name for alias in node.names]
        found |= {head for head in heads if head in ROOMS}
    return found


def test_there_are_rooms_and_each_says_what_it_is_for():
    assert {"tally", "field", "sync", "reports", "admin", "city", "privacy", "qr"} <= set(ROOMS)
    for room in ROOMS:
        doc = ast.get_docstring(ast.parse((APP / room / "__init__.py").read_text()))
        assert doc and len(doc.splitlines()[0]) > 20, f"fieldapp/{room}: say what the room is for"
        assert allowed(room) <= set(ROOMS), f"fieldapp/{room}: names a room that does not exist"


@pytest.mark.parametrize("room", ROOMS)
def test_a_room_imports_only_what_its_docstring_allows(room):
    may = allowed(room) | {room}
    wrong = {
        str(path.relative_to(APP)): sorted(imported_rooms(path) - may)
        for path in (APP / room).rglob("*.py")
        if imported_rooms(path) - may
    }
    assert not wrong, f"imports beyond 'May import' of fieldapp/{room}: {wrong}"


def test_no_two_rooms_import_each_other():
    for room in ROOMS:
        for other in allowed(room):
            assert room not in allowed(other), f"{room} and {other} may import each other"


def test_the_core_imports_no_room_but_for_the_wiring():
    wrong = {
        path.name: sorted(imported_rooms(path))
        for path in APP.glob("*.py")
        if path.name not in WIRING and imported_rooms(path)
    }
    assert not wrong, f"core modules that import a room: {wrong}"


def test_the_tests_mirror_the_rooms():
    tests = Path(__file__).resolve().parent
    for room in ROOMS:
        assert list((tests / room).glob("test_*.py")), f"tests/{room}/ holds no test"
        assert (tests / room / "__init__.py").is_file()

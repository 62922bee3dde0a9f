"""The board seam holds mechanically: no `if` on the board kind outside the registry (the import
rules, boards -> sim only in the virtual kind among them, are tests/unit/foundation/test_import_rules.py)."""

from __future__ import annotations

import ast
from pathlib import Path

from harness.config import BOARD_KINDS, REPO_ROOT

BOARDS = REPO_ROOT / "harness" / "boards"
REGISTRY = BOARDS / "registry.py"
SCANNED = ("harness", "fixtures", "tests/e2e", "bench")


def python_files(*roots: str) -> list[Path]:
    return sorted(p for root in roots for p in (REPO_ROOT / root).rglob("*.py"))


def _is_kind(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "kind") or \
        (isinstance(node, ast.Name) and node.id == "kind")


def _names_a_board_kind(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return node.value in BOARD_KINDS
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_names_a_board_kind(e) for e in node.elts)
    return False


def kind_checks(path: Path) -> list[str]:
    """`x.kind == "sim"`, `kind in ("pyocd", ...)`, `is_virtual`: a decision on the board kind."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_kind(s) for s in sides) and any(_names_a_board_kind(s) for s in sides):
                found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
        elif isinstance(node, ast.Attribute) and node.attr == "is_virtual":
            found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} (is_virtual)")
    return found


def test_no_decision_on_the_board_kind_outside_the_registry():
    offenders = [hit for path in python_files(*SCANNED) if path != REGISTRY
                 for hit in kind_checks(path)]
    assert offenders == [], ("ask board.capabilities instead of the kind: " + ", ".join(offenders))


def test_the_kind_check_finds_what_it_looks_for(tmp_path):
    probe = REPO_ROOT / "harness" / "boards" / f"_probe_{tmp_path.name}.py"
    try:
        probe.write_text("def f(board):\n    if board.config.kind == 'sim':\n        return 1\n"
                         "    return board.is_virtual or board.kind in ('pyocd', 'x')\n")
        assert len(kind_checks(probe)) == 3
    finally:
        probe.unlink()


def test_every_kind_is_registered_and_has_a_config_model():
    from harness.boards.registry import KINDS

    assert set(KINDS) == set(BOARD_KINDS)
    kinds_dir = {p.stem for p in (BOARDS / "kinds").glob("*.py") if p.stem != "__init__"}
    assert kinds_dir == {"pyocd", "virtual", "native", "factory_client", "labgrid"}


def test_each_kind_loads_the_class_of_its_name():
    from harness.boards.registry import KINDS, board_class

    assert {name: board_class(name).kind for name in KINDS} == {name: name for name in KINDS}


def test_the_registry_names_the_virtual_clients_backoff_variable():
    from harness.boards.registry import BACKOFF_ENV
    from harness.sim.client.settings import ENV_BACKOFF_BASE

    assert BACKOFF_ENV == ENV_BACKOFF_BASE


def test_making_a_virtual_board_imports_no_other_kind():
    """A worker pays only for its lab's kinds: the pyocd kind, labgrid and the native
    client stay unloaded when the lab has virtual boards only."""
    import os
    import subprocess
    import sys

    code = ("import sys\nfrom harness.boards.registry import make_board\n"
            "from harness.config import VirtualBoardConfig\n"
            "make_board(VirtualBoardConfig(id='v', kind='sim', target='dmhil_vboard', firmware='factory'))\n"
            "print(sorted(m for m in sys.modules if m.startswith('harness.boards.kinds.')"
            " or m.split('.')[0] == 'labgrid'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert out.stdout.strip() == "['harness.boards.kinds.virtual']"

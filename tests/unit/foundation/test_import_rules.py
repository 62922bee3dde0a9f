"""The import rules of docs/architecture.md, checked mechanically on every module's imports.

sim never imports cloud; cloud never imports sim or boards; boards import sim only in the
virtual-board kind; fixtures and scenarios reach the service through harness.services, never its
internals; the library never imports pytest except the runner; the shared layers import no part
above them. Imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from harness.config import REPO_ROOT

SERVICE_VOCABULARY = frozenset({"harness.cloud.events", "harness.cloud.records", "harness.cloud.wiretap"})
"""What of harness.cloud a test may name: event names, record types, the reports' wire trace."""
SHARED = ("client", "lwm2m", "transport", "provisioning", "pki", "config", "errors", "redact")
ABOVE_SHARED = ("harness.cloud", "harness.sim", "harness.boards", "harness.services", "harness.cli",
                "harness.runner", "harness.factory", "fixtures")


def python_files(root: str) -> list[Path]:
    """The .py files below (or at) `root`, relative to the repository."""
    path = REPO_ROOT / root
    return [path] if path.suffix == ".py" else sorted(path.rglob("*.py"))


def is_module(name: str) -> bool:
    """Whether `name` is a module or package of this repository."""
    path = REPO_ROOT.joinpath(*name.split("."))
    return path.is_dir() or path.with_suffix(".py").is_file()


def imported(path: Path) -> set[str]:
    """Every module `path` imports; `from a import b` names a.b when b is a module, else a."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                names.add(full if is_module(full) else node.module)
    return names


def under(module: str, *parts: str) -> bool:
    """Whether `module` is one of `parts` or inside one."""
    return any(module == p or module.startswith(p + ".") for p in parts)


def offenders(root: str, forbidden: tuple[str, ...], *, allowed_files: tuple[str, ...] = (),
              allowed: frozenset[str] = frozenset()) -> list[str]:
    """`file: module` for each import under `root` of a module in `forbidden` (and not `allowed`)."""
    return [f"{path.relative_to(REPO_ROOT)}: {module}"
            for path in python_files(root) if str(path.relative_to(REPO_ROOT)) not in allowed_files
            for module in forbidden_imports(path, forbidden, allowed)]


def forbidden_imports(path: Path, forbidden: tuple[str, ...], allowed: frozenset[str]) -> list[str]:
    """The modules `path` imports that are under `forbidden` and not under `allowed`."""
    return [module for module in sorted(imported(path))
            if under(module, *forbidden) and not under(module, *allowed)]


RULES = [
    ("the virtual board never imports the service", "harness/sim",
     ("harness.cloud", "harness.services", "harness.boards", "fixtures"), (), frozenset()),
    ("the service never imports the virtual board, boards or its clients", "harness/cloud",
     ("harness.sim", "harness.boards", "harness.services", "fixtures"), (), frozenset()),
    ("boards import the virtual board only in its kind", "harness/boards",
     ("harness.sim",), ("harness/boards/kinds/virtual.py",), frozenset()),
    ("fixtures reach the service through harness.services", "fixtures",
     ("harness.cloud",), (), SERVICE_VOCABULARY),
    ("scenarios reach the service through harness.services", "tests/e2e",
     ("harness.cloud",), (), SERVICE_VOCABULARY),
    ("the library never imports pytest (only the runner runs it)", "harness",
     ("pytest", "_pytest"), ("harness/runner.py",), frozenset()),
    ("client knowledge imports nothing of the harness but its errors", "harness/client",
     ("harness", "fixtures"), (), frozenset({"harness.client", "harness.errors"})),
    *[(f"harness.{part} imports no part above the shared layers", f"harness/{part}"
       if (REPO_ROOT / "harness" / part).is_dir() else f"harness/{part}.py",
       ABOVE_SHARED, (), frozenset()) for part in SHARED if part != "client"],
]


@pytest.mark.parametrize(("rule", "root", "forbidden", "allowed_files", "allowed"), RULES,
                         ids=[r[0] for r in RULES])
def test_import_rule(rule, root, forbidden, allowed_files, allowed):
    found = offenders(root, forbidden, allowed_files=allowed_files, allowed=allowed)
    assert found == [], f"{rule}; see docs/architecture.md. Offending imports: {found}"


def test_the_virtual_kind_is_the_one_importer_of_the_virtual_board():
    assert any(under(m, "harness.sim") for m in imported(REPO_ROOT / "harness/boards/kinds/virtual.py"))


@pytest.mark.parametrize("source", [
    "from harness.cloud import store\n",
    "from harness.cloud.store import Store\n",
    "def f():\n    import harness.cloud.bootstrap_policy\n",
])
def test_the_check_finds_a_reach_into_the_service(tmp_path, source):
    # the probe lives in tmp_path: a file in fixtures/ would fail the rule in a parallel worker
    probe = tmp_path / "probe.py"
    probe.write_text(source)
    assert forbidden_imports(probe, ("harness.cloud",), SERVICE_VOCABULARY)


def test_the_check_lets_the_vocabulary_through(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from harness.cloud import events as ev\nfrom harness.cloud.records import Device\n")
    assert forbidden_imports(probe, ("harness.cloud",), SERVICE_VOCABULARY) == []


def _catches_import_errors(path: Path) -> list[int]:
    """Lines of `except ImportError` / `except ModuleNotFoundError` handlers in `path` that carry
    on without raising (one that raises a clear error naming the fix is loud, not silent)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            caught = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            if any(isinstance(c, ast.Name) and c.id in ("ImportError", "ModuleNotFoundError")
                   for c in caught) and not any(isinstance(n, ast.Raise) for n in ast.walk(node)):
                lines.append(node.lineno)
    return lines


def test_no_silent_optional_import():
    """A part that fails to import stops the run loudly instead of quietly doing less."""
    found = [f"{path.relative_to(REPO_ROOT)}:{line}" for root in ("harness", "fixtures")
             for path in python_files(root) for line in _catches_import_errors(path)]
    assert found == [], f"import the module outright (a missing part is a bug to see): {found}"


def test_the_silent_import_check_tells_quiet_from_loud(tmp_path):
    quiet = tmp_path / "quiet.py"
    quiet.write_text("try:\n    import rest\nexcept ImportError:\n    rest = None\n")
    loud = tmp_path / "loud.py"
    loud.write_text("try:\n    import rest\nexcept ImportError:\n    raise SystemExit('install rest')\n")
    assert _catches_import_errors(quiet) == [3] and _catches_import_errors(loud) == []

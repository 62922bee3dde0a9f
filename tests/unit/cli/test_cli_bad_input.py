"""The CLI bad-input table: every case ends in one sentence on stderr, a non-zero exit, and
nothing changed on disk (no traceback, no half-written file, no board started)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.cli import main

GOOD_LAB = """service: {host: 127.0.0.1}
boards:
  - {id: vb-1, kind: sim, target: dmhil_vboard, firmware: factory}
"""


def _write(name: str, data: bytes) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        (tmp / name).write_bytes(data)
        return ["config", "check", str(tmp / name)]
    return make


def _manifest(data: bytes) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        (tmp / "manifest.yaml").write_bytes(data)
        (tmp / "lab.yaml").write_text(GOOD_LAB + "firmware_manifest: manifest.yaml\n")
        return ["config", "check", str(tmp / "lab.yaml")]
    return make


def _flash(image: Callable[[Path], Path]) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        (tmp / "lab.yaml").write_text(GOOD_LAB)
        return ["--lab-config", str(tmp / "lab.yaml"), "flash", "vb-1", str(image(tmp))]
    return make


def _big_image(tmp: Path) -> Path:
    path = tmp / "big.bin"
    path.write_bytes(os.urandom(2 * 1024 * 1024))
    return path


def _corrupt_db(command: str) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        data = tmp / "data"
        data.mkdir()
        (data / "service.sqlite3").write_bytes(b"this is not a database" * 100)
        (tmp / "lab.yaml").write_text(GOOD_LAB)
        return ["--lab-config", str(tmp / "lab.yaml"), "cloud", command, "--data-dir", str(data)]
    return make


def _wrong_db(command: str) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        data = tmp / "data"
        data.mkdir()
        with sqlite3.connect(data / "service.sqlite3") as db:
            db.execute("CREATE TABLE unrelated (x)")
        (tmp / "lab.yaml").write_text(GOOD_LAB)
        return ["--lab-config", str(tmp / "lab.yaml"), "cloud", command, "--data-dir", str(data)]
    return make


def _provision(board: str) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        (tmp / "lab.yaml").write_text(GOOD_LAB)
        # no service runs on data/: the board must be refused before the service is asked
        return ["--lab-config", str(tmp / "lab.yaml"), "provision", board, "--mode",
                "first-to-claim", "--data-dir", str(tmp / "data")]
    return make


CASES: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "provision an unknown board": (_provision("no-such-board"), "no board 'no-such-board'"),
    "lab config not UTF-8": (_write("lab.yaml", b"service:\n  host: \xff\xfe\x80\n"), "UTF-8"),
    "lab config UTF-16": (_write("lab.yaml", GOOD_LAB.encode("utf-16")), "UTF-16"),
    "lab config deeply nested": (_write("lab.yaml", b"[" * 50_000 + b"]" * 50_000), "nest"),
    "lab config deeply nested mappings": (
        _write("lab.yaml", b"".join(b"  " * i + b"a:\n" for i in range(200)) + b"  " * 200
               + b"b: 1\n"), "nest"),
    "lab config too big": (_write("lab.yaml", b"# " + b"x" * (8 * 1024 * 1024) + b"\n"), "MiB"),
    "lab config is a directory": (lambda tmp: ["config", "check", str(tmp)], "directory"),
    "manifest is a list": (_manifest(b"- a\n- b\n"), "mapping"),
    "manifest not UTF-8": (_manifest(b"images:\n  x: {target: \xff}\n"), "UTF-8"),
    "manifest deeply nested": (_manifest(b"[" * 50_000), "nest"),
    "flash /etc/passwd": (_flash(lambda tmp: Path("/etc/passwd")), "image"),
    "flash a 2 MiB image": (_flash(_big_image), "image"),
    # `hil cloud devices` asks the running service (admin API); it never opens the file itself
    "cloud devices on a corrupt database": (_corrupt_db("devices"), "service"),
    "cloud serve on a corrupt database": (_corrupt_db("serve"), "database"),
    "cloud serve on a foreign database": (_wrong_db("serve"), "database"),
}


def _snapshot(*roots: Path) -> dict[str, str]:
    out = {}
    for root in roots:
        for path in sorted(root.rglob("*")) if root.exists() else ():
            if path.is_file():
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                out[str(path)] = "dir"
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_sentence(case: str, tmp_path: Path, monkeypatch, capsys) -> None:
    make, word = CASES[case]
    work = tmp_path / "work"
    work.mkdir()
    sim = tmp_path / "sim"
    args = make(work)
    before = _snapshot(work, sim)
    monkeypatch.setenv("HIL_SIM_DIR", str(sim))
    monkeypatch.setenv("HIL_LOCK_DIR", str(tmp_path / "locks"))
    monkeypatch.setenv("HIL_LAB_CONFIG", str(work / "none.yaml"))
    monkeypatch.chdir(tmp_path)
    code = main(args)
    out, err = capsys.readouterr()
    err = err.strip()
    assert code != 0, (case, out, err)
    assert "Traceback" not in err and len(err.splitlines()) == 1, (case, err)
    assert err.startswith("hil: error:") and word.lower() in err.lower(), (case, err)
    assert _snapshot(work, sim) == before, case

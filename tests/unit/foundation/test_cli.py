"""`hil --help` lists the subcommands, and each subcommand has --help."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.cli import build_parser

SUBCOMMANDS = [["run"], ["boards"], ["flash"], ["provision"], ["console"], ["cloud"],
               ["cloud", "serve"], ["cloud", "devices"], ["cloud", "dev-cert"], ["report"],
               ["report", "merge"], ["report", "summary"], ["config"], ["config", "check"]]


def test_top_level_help_lists_every_subcommand():
    text = build_parser().format_help()
    for name in ("run", "boards", "flash", "provision", "console", "cloud", "report", "config"):
        assert name in text


@pytest.mark.parametrize("words", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_has_help(words, capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([*words, "--help"])
    assert info.value.code == 0
    assert "usage: hil " + " ".join(words) in capsys.readouterr().out


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "harness.cli", "--help"], capture_output=True,
                         text=True, timeout=60, check=True)
    assert "dm-hil" in out.stdout

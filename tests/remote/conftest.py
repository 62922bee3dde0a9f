"""Fixtures of the distributed tests: a labgrid coordinator and two exporter hosts on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from remote_lab import RemoteLab, remote_lab, tools_missing

HOSTS = {"hostA": ["rb-a1", "rb-a2"], "hostB": ["rb-b1", "rb-b2"]}
"""Two exporter hosts (127.0.0.2, 127.0.0.3), two virtual boards each."""


def _require_tools() -> None:
    missing = tools_missing()
    if missing:
        pytest.skip(f"the distributed tests need {', '.join(missing)}; run .ci/run or "
                    "`apt-get install ser2net` and `pip install -e '.[test]'`")


@pytest.fixture(scope="module")
def labgrid_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteLab]:
    """A coordinator + two exporter hosts with two virtual boards each, shared by a module."""
    _require_tools()
    with remote_lab(tmp_path_factory.mktemp("lab"), HOSTS) as lab:
        yield lab


@pytest.fixture
def doomed_lab(tmp_path: Path) -> Iterator[RemoteLab]:
    """A lab of its own for a test that kills one of its hosts."""
    _require_tools()
    with remote_lab(tmp_path / "lab", HOSTS) as lab:
        yield lab

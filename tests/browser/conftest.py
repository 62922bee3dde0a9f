"""Fixtures of the browser tests: a headless Chromium per module and a folder for screenshots."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_chromium import chromium_path, headless_chromium


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Debian Chromium over CDP (skipped, saying how to install it, when it is missing)."""
    if chromium_path() is None:
        pytest.skip("chromium is not installed: apt-get install -y chromium (.ci/run does)")
    pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs playwright")
    with headless_chromium(tmp_path_factory.mktemp("chromium-profile")) as started:
        yield started


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where a test keeps its screenshots (the path is printed)."""
    return tmp_path

"""Headless Debian Chromium driven over the DevTools protocol (Playwright's connect_over_cdp).

The browser is the system's /usr/bin/chromium (`apt-get install chromium`), started here with a
fresh profile and no network-facing background services; Playwright only speaks CDP to it and
never downloads a browser of its own.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
DEVTOOLS_LINE = re.compile(r"DevTools listening on ws://[^/]+:(\d+)/")
"""What Chromium prints on stderr once its DevTools endpoint listens."""

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0")
START_TIMEOUT = 30.0


def chromium_path() -> str | None:
    """The Chromium binary, or None when it is not installed."""
    return shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)


@dataclass
class PageLog:
    """What a page did while it loaded: console errors, page errors, requests leaving file://."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    @property
    def external_requests(self) -> list[str]:
        """Requests to anything but the file itself and data: URIs (a self-contained page has none)."""
        return [url for url in self.requests if not url.startswith(("file://", "data:"))]


def _devtools_port(process: subprocess.Popen[str]) -> int:
    """The port of Chromium's "DevTools listening on ws://HOST:PORT/..." line (its stderr is then
    drained on a thread, so Chromium never blocks on a full pipe)."""
    assert process.stderr is not None
    ports: list[int] = []
    told = threading.Event()

    def drain() -> None:
        for line in process.stderr:
            match = DEVTOOLS_LINE.search(line)
            if match and not ports:
                ports.append(int(match.group(1)))
                told.set()
        told.set()  # stderr ended: Chromium exited

    threading.Thread(target=drain, name="chromium-stderr", daemon=True).start()
    if not told.wait(START_TIMEOUT):
        raise RuntimeError(f"chromium did not listen for DevTools within {START_TIMEOUT:g} s")
    if not ports:
        raise RuntimeError(f"chromium exited with code {process.wait(5)} before it listened")
    return ports[0]


@contextlib.contextmanager
def headless_chromium(profile: Path) -> Iterator[Any]:
    """A started headless Chromium (fresh profile) as a Playwright Browser connected over CDP."""
    from playwright.sync_api import sync_playwright

    binary = chromium_path()
    if binary is None:
        raise RuntimeError("chromium is not installed; apt-get install -y chromium")
    profile.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port = _devtools_port(process)
        with sync_playwright() as playwright:
            browser = playwright.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
            try:
                yield browser
            finally:
                browser.close()
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def open_page(browser: Any, path: Path, *, width: int = 1400, height: int = 1000) -> tuple[Any, PageLog]:
    """Open a local file in a new page and record its console errors, page errors and requests."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    log = PageLog()
    page.on("console", lambda msg: log.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: log.page_errors.append(str(exc)))
    page.on("request", lambda request: log.requests.append(request.url))
    page.goto(path.resolve().as_uri(), wait_until="load")
    return page, log


def check_report_in_browser(browser, report: Path, failed_anchor: str, screenshot: Path) -> None:
    """Open `report`: no console or page errors, no request beyond the file, the failed test's
    failing timeline row visible; keep a full-page screenshot at `screenshot`."""
    page, log = open_page(browser, report)
    try:
        assert log.console_errors == [], log.console_errors
        assert log.page_errors == [], log.page_errors
        assert log.external_requests == [], f"the report loads from the network: {log.external_requests}"
        case = page.locator(f"#{failed_anchor}")
        assert case.evaluate("el => el.open") is True, "a failed test is opened"
        failing = page.locator(f"#{failed_anchor}-fail")
        failing.scroll_into_view_if_needed()
        assert failing.is_visible(), "the failing step of the timeline is visible"
        assert "failure" in failing.inner_text()
        lanes = page.locator(f"#{failed_anchor} table.tl th").all_inner_texts()
        assert lanes == ["time", "test", "board console", "CoAP wire", "service"]
        box = page.locator(f"#{failed_anchor} .timeline")
        assert box.bounding_box()["height"] > 50, "the timeline is laid out, not collapsed"
        images = page.locator("img")
        for index in range(images.count()):
            assert images.nth(index).evaluate("img => img.complete && img.naturalWidth > 0"), \
                f"image {index} did not render"
        page.screenshot(path=str(screenshot), full_page=True)
    finally:
        page.context.close()
    assert screenshot.stat().st_size > 10_000
    print(f"screenshot: {screenshot}")

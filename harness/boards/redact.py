"""Redaction of console output: secrets never reach a log or a test report.

Removed: PEM private-key blocks (across lines), bearer tokens / API keys (`ak_...`), JWTs, and
factory provisioning frames (the binary `mbedprov` frames interleaved with log text; only their
size is kept).
"""

from __future__ import annotations

import re

from harness.provisioning.frame import FrameReader, ResponseFrame
from harness.redact import redact

_BEGIN_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_END_KEY = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY-----")
PRIVATE_KEY_REDACTED = "[private key redacted]"


def redact_line(line: str) -> str:
    """One line with tokens, API keys and passwords replaced (harness.redact's rules)."""
    return redact(line)


class ConsoleRedactor:
    """Turns raw serial RX bytes into redacted text lines (stateful across chunks)."""

    def __init__(self) -> None:
        """Start outside any frame or key block."""
        self._frames = FrameReader("response")
        self._partial = ""
        self._in_key = False

    def feed(self, data: bytes) -> list[str]:
        """Feed raw bytes; return the complete lines they finished (redacted)."""
        text = ""
        for item in self._frames.feed(data):
            text += self._frames_text()
            size = len(item.message) if isinstance(item, ResponseFrame) and item.message else 0
            text += f"\n[provisioning frame: {size} bytes redacted]\n"
        text += self._frames_text()
        self._partial += text
        *lines, self._partial = self._partial.split("\n")
        return [out for line in lines if (out := self._line(line.rstrip("\r"))) is not None]

    def _frames_text(self) -> str:
        return self._frames.take_text().decode("utf-8", errors="replace")

    def _line(self, line: str) -> str | None:
        if self._in_key:
            if _END_KEY.search(line):
                self._in_key = False
            return None
        if _BEGIN_KEY.search(line):
            self._in_key = not _END_KEY.search(line)
            return PRIVATE_KEY_REDACTED
        return redact_line(line)

    @property
    def partial(self) -> str:
        """The unfinished last line (redacted), for timeout reports."""
        return "" if self._in_key else redact_line(self._partial.rstrip("\r"))

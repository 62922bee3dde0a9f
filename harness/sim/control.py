"""The board's control socket: JSON lines over a unix socket, one request -> one response.

Requests are objects with an "op" (info, state, halt, resume, reset, read, write, erase,
erase_all, power, corrupt_item, unregister) and its arguments; binary data travels
base64-encoded in "data". Responses are {"ok": true, ...} or {"ok": false, "error": "<one
sentence>"}. The pyOCD probe plugin and the board layer use ControlClient; the board process
serves with serve_control().
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from harness.errors import HilError

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
_LIMIT = 8 * 1024 * 1024


class ControlError(HilError):
    """The board's control socket is unreachable or refused a request."""


def b64(data: bytes) -> str:
    """Bytes as base64 text."""
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    """Base64 text as bytes."""
    return base64.b64decode(text)


async def serve_control(path: Path, handler: Handler) -> asyncio.AbstractServer:
    """Serve JSON-line requests on unix socket `path` with `handler` (errors -> ok:false)."""

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    request = json.loads(line)
                    reply = await handler(request)
                    reply = {"ok": True, **reply}
                except HilError as exc:
                    reply = {"ok": False, "error": str(exc)}
                except (ValueError, KeyError, TypeError) as exc:
                    reply = {"ok": False,
                             "error": f"bad control request ({exc}); check the op and arguments."}
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return await asyncio.start_unix_server(client, path=str(path), limit=_LIMIT)


class ControlClient:
    """A blocking client of one board's control socket (used from pyOCD and the board layer)."""

    def __init__(self, path: str | Path, timeout: float = 10.0) -> None:
        """Connect to the control socket at `path`."""
        self.path = str(path)
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._file: Any = None

    def connect(self) -> None:
        """Connect now (requests connect on demand); ControlError if the board is not there."""
        if self._sock is None:
            self._connect()

    def _connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except OSError as exc:
            sock.close()
            raise ControlError(
                f"virtual board control socket {self.path} is unreachable ({exc.strerror}); "
                "start the board (is it running?)."
            ) from None
        self._sock = sock
        self._file = sock.makefile("rwb")

    def request(self, op: str, **args: Any) -> dict[str, Any]:
        """Send one request and return the reply; raise ControlError if the board refused it."""
        if self._sock is None:
            self._connect()
        try:
            self._file.write(json.dumps({"op": op, **args}).encode() + b"\n")
            self._file.flush()
            line = self._file.readline()
        except OSError as exc:
            self.close()
            raise ControlError(
                f"virtual board at {self.path} stopped answering ({exc}); restart it."
            ) from None
        if not line:
            self.close()
            raise ControlError(f"virtual board at {self.path} closed the control socket; restart it.")
        try:
            reply = json.loads(line)
        except ValueError:
            self.close()
            raise ControlError(
                f"virtual board at {self.path} sent a garbled control reply; restart it."
            ) from None
        if not reply.pop("ok", False):
            raise ControlError(reply.get("error", "the board refused the request"))
        return reply

    def close(self) -> None:
        """Close the connection (reconnects on the next request)."""
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        self._file = None

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

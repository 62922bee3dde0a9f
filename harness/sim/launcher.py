"""Start and stop a virtual board process from the harness (waits on a ready pipe, not sleeps)."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.errors import HilError
from harness.sim import registry

BOARD_LOG = "board.log"


def board_environment(env: dict[str, str]) -> dict[str, str]:
    """The board process's environment. With PYTHONDONTWRITEBYTECODE set (and no cache prefix),
    every board start would compile the harness anew (about a second on a busy machine): the
    board keeps its bytecode under a per-user cache folder instead, never in the source tree."""
    if env.get("PYTHONDONTWRITEBYTECODE") and not env.get("PYTHONPYCACHEPREFIX"):
        env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / f"dm-hil-pycache-{os.getuid()}")
    return env


class BoardStartError(HilError):
    """A virtual board process did not come up."""


class VirtualBoardProcess:
    """One `python -m harness.sim` child process; a context manager that always stops it."""

    def __init__(self, board_id: str, *, root: Path | None = None, baud: int | None = None,
                 image: Path | None = None, target: str = registry.TARGET_TYPE) -> None:
        """Describe the board (nothing starts until start())."""
        self.board_id = board_id
        self.dir = registry.board_dir(board_id, root)
        self.baud = baud
        self.image = image
        self.target = target
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: registry.BoardInfo | None = None

    @property
    def log_path(self) -> Path:
        """The board process's own log (stderr)."""
        return self.dir / BOARD_LOG

    def start(self, timeout: float = 15.0) -> registry.BoardInfo:
        """Start the process and wait until its board.json is published."""
        self.dir.mkdir(parents=True, exist_ok=True)
        read_fd, write_fd = os.pipe()
        cmd = [sys.executable, "-m", "harness.sim", "--id", self.board_id, "--board-dir", str(self.dir),
               "--target", self.target, "--ready-fd", str(write_fd)]
        if self.baud:
            cmd += ["--baud", str(self.baud)]
        if self.image:
            cmd += ["--image", str(self.image)]
        env = board_environment({**os.environ, registry.SIM_DIR_ENV: str(self.dir.parent)})
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         pass_fds=(write_fd,), env=env, start_new_session=True)
        os.close(write_fd)
        try:
            ready, _, _ = select.select([read_fd], [], [], timeout)
            line = os.read(read_fd, 64) if ready else b""
        finally:
            os.close(read_fd)
        if line.strip() != b"ready":
            code = self.proc.poll()
            self.stop()
            tail = self._log_tail()
            why = f"exited with {code}" if code is not None else f"not ready after {timeout:g} s"
            raise BoardStartError(
                f"virtual board {self.board_id} {why}; see {self.log_path}.{tail}"
            )
        self.info = registry.read_board_info(self.dir)
        if self.info is None:
            self.stop()
            raise BoardStartError(
                f"virtual board {self.board_id} published no board.json; see {self.log_path}."
            )
        return self.info

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()[-5:]
        except OSError:
            return ""
        return ("\n" + "\n".join(lines)) if lines else ""

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, wait, then SIGKILL if needed; removes a stale board.json."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if proc is not None and registry.read_board_info(self.dir) is None:
            (self.dir / registry.BOARD_JSON).unlink(missing_ok=True)
        self.info = None

    @property
    def running(self) -> bool:
        """True while the child process lives."""
        return self.proc is not None and self.proc.poll() is None

    def wait_gone(self, timeout: float) -> bool:
        """Wait for the process to exit (e.g. after a shutdown request)."""
        if self.proc is None:
            return True
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def __enter__(self) -> VirtualBoardProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""Board pool: lease a board with a cross-process file lock (xdist workers, parallel CI jobs).

Each board has a lock file `<lock_dir>/<board id>.lock` held with an OS lock (filelock), so a
lease disappears with the process that held it, even when it crashes.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from harness.config import BoardConfig, LabConfig
from harness.errors import HilError

LOCK_DIR_ENV = "HIL_LOCK_DIR"


class PoolError(HilError):
    """No board fits, or every fitting board stays leased past the timeout."""


def default_lock_dir() -> Path:
    """$HIL_LOCK_DIR, else <tmp>/dm-hil-locks (shared by every process on this host)."""
    env = os.environ.get(LOCK_DIR_ENV)
    return Path(env) if env else Path(tempfile.gettempdir()) / "dm-hil-locks"


class BoardPool:
    """The lab's boards, leased one holder at a time across processes."""

    def __init__(self, lab: LabConfig, lock_dir: str | Path | None = None) -> None:
        """A pool over `lab.boards`, with lock files in `lock_dir`."""
        self.lab = lab
        self.lock_dir = Path(lock_dir) if lock_dir else default_lock_dir()
        self.lock_dir.mkdir(parents=True, exist_ok=True)

    def candidates(self, target: str | None = None, tags: Iterable[str] = (),
                   board_id: str | None = None) -> list[BoardConfig]:
        """Boards that match the target type, carry every tag and (if given) have the id."""
        wanted = set(tags)
        return [
            b for b in self.lab.boards
            if (target is None or b.target == target) and wanted <= set(b.tags)
            and (board_id is None or b.id == board_id)
        ]

    def lock_path(self, board_id: str) -> Path:
        """The lock file of a board."""
        return self.lock_dir / f"{board_id}.lock"

    @contextlib.contextmanager
    def lease(self, target: str | None = None, tags: Iterable[str] = (), timeout: float = 60.0,
              board_id: str | None = None) -> Iterator[BoardConfig]:
        """Lease a free matching board (waits up to `timeout` s); released on exit."""
        tags = tuple(tags)
        boards = self.candidates(target, tags, board_id)
        if not boards:
            want = ", ".join(filter(None, [f"target {target}" if target else "",
                                           f"tags {list(tags)}" if tags else "",
                                           f"id {board_id}" if board_id else ""])) or "any board"
            raise PoolError(f"no board in the lab config matches {want}; add one or relax the filter.")
        locks = {b.id: FileLock(str(self.lock_path(b.id))) for b in boards}
        deadline = time.monotonic() + timeout
        while True:
            for board in boards:
                lock = locks[board.id]
                try:
                    lock.acquire(timeout=0)
                except Timeout:
                    continue
                try:
                    yield board
                finally:
                    lock.release()
                return
            if time.monotonic() >= deadline:
                raise PoolError(
                    f"every matching board ({', '.join(b.id for b in boards)}) stayed leased for "
                    f"{timeout:g} s; wait for the other jobs or add boards (locks in {self.lock_dir})."
                )
            # a blocking acquire on one lock wakes on its release; cap it to rotate over the others
            first = locks[boards[0].id]
            with contextlib.suppress(Timeout):
                first.acquire(timeout=min(0.2, max(0.0, deadline - time.monotonic())))
                first.release()

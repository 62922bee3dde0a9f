"""The device's credential store (like KVStore): name -> bytes, factory or runtime items."""

from __future__ import annotations

import base64
import json
import os
import struct
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from harness.errors import HilError

_FORMAT = "dm-hil-itemstore/1"
FaultHook = Callable[[str], None]


class StoreError(HilError):
    """The store file cannot be read or written."""


class ItemStore:
    """A file-backed item store; every change is written atomically (temp file + os.replace).

    Factory items are what provisioning (FCC) wrote; runtime items are what the client wrote
    later. A runtime write over a factory item keeps the factory copy as a backup, so
    factory_reset() restores it ("factory reset erases runtime items and restores FCC items").
    With path=None the store lives in memory only.

    A provisioning session never writes here item by item: it fills a staged in-memory store
    and commit_provisioning() replaces the whole content in one atomic file write, marking the
    store `committed`. Every write is temp file + rename, so a crash at any point leaves either
    the old file or the new one. `durable` adds an fsync of the file and its folder, for a crash
    of the whole machine; a virtual board's store does without (its power cut is the death of its
    process, which the rename alone survives: the written file is in the OS already).
    `fault_hook` (tests) is called at each step of a write with the step's name ("temp",
    "written", "synced", "replaced").

    damage() models a bad flash sector under one item: its current value reads back half erased
    and the item fails its integrity check (`is_damaged`, as the real client's storage finds a
    CMAC mismatch) until it is written again; the factory backup copy stays intact.
    """

    fault_hook: FaultHook | None = None

    def __init__(self, path: str | os.PathLike[str] | None = None, *, durable: bool = True) -> None:
        """Open (or create on first write) the store at `path` (`durable`: fsync each write)."""
        self.path = Path(path) if path is not None else None
        self.durable = durable
        self._lock = threading.RLock()
        self._items: dict[str, bytes] = {}
        self._factory: dict[str, bytes] = {}
        self._committed = False
        self._damaged: set[str] = set()
        self._load()

    # --- reading -------------------------------------------------------------------------------
    def get(self, name: str) -> bytes | None:
        """The current value of `name`, or None."""
        with self._lock:
            return self._items.get(name)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._items

    def names(self) -> list[str]:
        """Names of every current item, sorted."""
        with self._lock:
            return sorted(self._items)

    def is_factory(self, name: str) -> bool:
        """True when the current value of `name` is the factory-written one."""
        with self._lock:
            return name in self._factory and self._items.get(name) == self._factory[name]

    def is_damaged(self, name: str) -> bool:
        """True when the current value of `name` fails its integrity check (see damage())."""
        with self._lock:
            return name in self._damaged

    def factory_names(self) -> list[str]:
        """Names of every factory (FCC-written) item, sorted."""
        with self._lock:
            return sorted(self._factory)

    @property
    def committed(self) -> bool:
        """True when a provisioning session (or the developer flow) committed a set here."""
        with self._lock:
            return self._committed

    def get_int(self, name: str) -> int | None:
        """The item as a little-endian integer (4 or 8 bytes), or None if absent/other size."""
        data = self.get(name)
        if data is None or len(data) not in (4, 8):
            return None
        return struct.unpack("<i" if len(data) == 4 else "<q", data)[0]

    def get_str(self, name: str) -> str | None:
        """The item decoded as UTF-8 text, or None if absent."""
        data = self.get(name)
        return None if data is None else data.decode("utf-8", errors="replace")

    # --- writing -------------------------------------------------------------------------------
    def put(self, name: str, data: bytes, *, factory: bool) -> None:
        """Store `data` under `name` as a factory or runtime item."""
        if not isinstance(data, bytes | bytearray):
            raise TypeError(f"item {name!r} must be bytes, not {type(data).__name__}")
        with self._lock:
            self._items[name] = bytes(data)
            self._damaged.discard(name)
            if factory:
                self._factory[name] = bytes(data)
            self._save()

    def put_many(self, items: dict[str, bytes], *, factory: bool) -> None:
        """Store several items in one atomic write (all of them or none survive a crash)."""
        for name, data in items.items():
            if not isinstance(data, bytes | bytearray):
                raise TypeError(f"item {name!r} must be bytes, not {type(data).__name__}")
        with self._lock:
            old = (dict(self._items), dict(self._factory), set(self._damaged))
            for name, data in items.items():
                self._items[name] = bytes(data)
                self._damaged.discard(name)
                if factory:
                    self._factory[name] = bytes(data)
            try:
                self._save()
            except BaseException:
                self._items, self._factory, self._damaged = old
                raise

    def damage(self, name: str) -> None:
        """Make the current value of `name` read back with its second half erased (0xFF), as a bad
        flash sector or a write cut by a power loss leaves it; the factory backup is kept."""
        with self._lock:
            data = self._items.get(name)
            if data is None:
                raise StoreError(f"Item {name} is not in the store; damage one it holds "
                                 f"({', '.join(sorted(self._items)) or 'none'}).")
            half = len(data) // 2
            self._items[name] = data[:half] + bytes([0xFF]) * (len(data) - half)
            self._damaged.add(name)
            self._save()

    def delete(self, name: str) -> None:
        """Remove `name` (its factory backup too, like kcm_item_delete)."""
        with self._lock:
            self._items.pop(name, None)
            self._factory.pop(name, None)
            self._damaged.discard(name)
            self._save()

    def erase_all(self) -> None:
        """Remove every item, factory and runtime (a chip erase): nothing is committed."""
        with self._lock:
            self._items.clear()
            self._factory.clear()
            self._damaged.clear()
            self._committed = False
            self._save()

    def commit_provisioning(self, staged: ItemStore) -> None:
        """Replace everything with the staged session's items (factory items) in one write."""
        with staged._lock:
            items, factory = dict(staged._items), dict(staged._factory)
        with self._lock:
            old = (self._items, self._factory, self._committed, self._damaged)
            self._items, self._factory, self._committed, self._damaged = items, factory, True, set()
            try:
                self._save()
            except BaseException:
                self._items, self._factory, self._committed, self._damaged = old
                raise

    def factory_reset(self) -> None:
        """Drop runtime items and runtime overrides; restore the factory items."""
        with self._lock:
            self._items = dict(self._factory)
            self._damaged.clear()  # the backup copies were never damaged
            self._save()

    # --- file ----------------------------------------------------------------------------------
    def _load(self) -> None:
        if self.path is None or not self.path.exists():
            return
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            if doc.get("format") != _FORMAT:
                raise ValueError(f"format is {doc.get('format')!r}")
            self._items = {k: base64.b64decode(v) for k, v in doc["items"].items()}
            self._factory = {k: base64.b64decode(v) for k, v in doc["factory"].items()}
            self._committed = bool(doc.get("committed", bool(self._factory)))
            self._damaged = set(doc.get("damaged", [])) & set(self._items)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StoreError(
                f"Item store {self.path} is unreadable ({exc}); delete the file to start blank."
            ) from None

    def _save(self) -> None:
        if self.path is None:
            return
        doc = {
            "format": _FORMAT,
            "items": {k: base64.b64encode(v).decode() for k, v in sorted(self._items.items())},
            "factory": {k: base64.b64encode(v).decode() for k, v in sorted(self._factory.items())},
            "committed": self._committed,
            "damaged": sorted(self._damaged),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fault = self.fault_hook or (lambda step: None)
        fault("temp")
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                text = json.dumps(doc)
                fh.write(text[: len(text) // 2])
                fault("written")
                fh.write(text[len(text) // 2:])
                fh.flush()
                if self.durable:
                    os.fsync(fh.fileno())
            fault("synced")
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
            fault("replaced")
            if self.durable:
                _fsync_dir(self.path.parent)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise StoreError(
                f"Cannot write item store {self.path} ({exc}); check the directory is writable."
            ) from None


def _fsync_dir(path: Path) -> None:
    """Make a rename durable (best effort: not every file system allows it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

"""The device's credential store (like KVStore): name -> bytes, factory or runtime items."""

from __future__ import annotations

import base64
import json
import os
import struct
import tempfile
import threading
from pathlib import Path

from harness.errors import HilError

_FORMAT = "dm-hil-itemstore/1"


class StoreError(HilError):
    """The store file cannot be read or written."""


class ItemStore:
    """A file-backed item store; every change is written atomically (temp file + os.replace).

    Factory items are what provisioning (FCC) wrote; runtime items are what the client wrote
    later. A runtime write over a factory item keeps the factory copy as a backup, so
    factory_reset() restores it ("factory reset erases runtime items and restores FCC items").
    With path=None the store lives in memory only.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        """Open (or create on first write) the store at `path`."""
        self.path = Path(path) if path is not None else None
        self._lock = threading.RLock()
        self._items: dict[str, bytes] = {}
        self._factory: dict[str, bytes] = {}
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

    def factory_names(self) -> list[str]:
        """Names of every factory (FCC-written) item, sorted."""
        with self._lock:
            return sorted(self._factory)

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
            if factory:
                self._factory[name] = bytes(data)
            self._save()

    def delete(self, name: str) -> None:
        """Remove `name` (its factory backup too, like kcm_item_delete)."""
        with self._lock:
            self._items.pop(name, None)
            self._factory.pop(name, None)
            self._save()

    def erase_all(self) -> None:
        """Remove every item, factory and runtime (fcc_storage_delete)."""
        with self._lock:
            self._items.clear()
            self._factory.clear()
            self._save()

    def factory_reset(self) -> None:
        """Drop runtime items and runtime overrides; restore the factory items."""
        with self._lock:
            self._items = dict(self._factory)
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
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise StoreError(
                f"Cannot write item store {self.path} ({exc}); check the directory is writable."
            ) from None

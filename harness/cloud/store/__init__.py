"""The service's persistent state in one SQLite file (WAL), one module per kind of record."""

from __future__ import annotations

from pathlib import Path

from harness.cloud.store.accounts import AccountStore, hash_api_key
from harness.cloud.store.base import DB_FILE, ConflictError, NotFoundError, StoreError
from harness.cloud.store.bootstrap_configs import BootstrapConfigStore
from harness.cloud.store.certificates import SERVICES, STATUSES, CertificateStore
from harness.cloud.store.devices import DeviceStore
from harness.cloud.store.enrollments import EnrollmentStore
from harness.cloud.store.events import EventStore
from harness.cloud.store.psk import PskStore

__all__ = ["DB_FILE", "SERVICES", "STATUSES", "ConflictError", "NotFoundError", "Store", "StoreError",
           "hash_api_key"]


class Store(AccountStore, CertificateStore, EnrollmentStore, DeviceStore, EventStore):
    """The whole store: accounts, certificates, enrollments, devices, events; `psk`: PSK keys;
    `bootstrap_configs`: per-account bootstrap configurations."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.psk = PskStore(self._sql)
        self.bootstrap_configs = BootstrapConfigStore(self._sql)

    @classmethod
    def open(cls, data_dir: Path) -> Store:
        """Open (or create) the store in `data_dir`."""
        return cls(Path(data_dir) / DB_FILE)

"""What a running `hil cloud serve` publishes for its clients: `<data_dir>/service.json` (where it
listens) and its operator key file; the service writes them, harness.services reads them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from harness.errors import HilError

RUNTIME_FILE = "service.json"
OPERATOR_KEY_FILE = "operator-key"


def read_runtime_file(data_dir: Path) -> dict[str, Any]:
    """The URIs of the service running on `data_dir`, or a clear error if none runs."""
    path = Path(data_dir) / RUNTIME_FILE
    try:
        info = json.loads(path.read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        raise HilError(f"No local Device Management service is running on {data_dir}; start "
                       f"`hil cloud serve --data-dir {data_dir}` in another terminal.") from None
    return info


def read_operator_key(path: Path) -> str:
    """The operator key in `path` (a clear error when it is missing or not one)."""
    try:
        key = Path(path).read_text().strip()
    except OSError as exc:
        raise HilError(f"Cannot read the service's operator key from {path} ({exc.strerror}); point "
                       "service.operator_key_file at the operator-key file in the service's data "
                       "dir.") from None
    if not key.startswith("op_"):
        raise HilError(f"{path} does not hold an operator key (op_...); use the operator-key file "
                       "of the service's data dir.")
    return key


def service_endpoint(data_dir: Path) -> tuple[str, str]:
    """(REST base URL, operator key) of the `hil cloud serve` running on `data_dir`."""
    info = read_runtime_file(data_dir)
    if not info.get("rest"):
        raise HilError(f"The service on {data_dir} runs without its REST API; restart it with "
                       "`hil cloud serve`.")
    return str(info["rest"]), read_operator_key(Path(data_dir) / OPERATOR_KEY_FILE)

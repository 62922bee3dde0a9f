"""The client's console words and error enum, as the virtual board prints them.

They live in harness.client (errors, console); this name stays for the simulator's modules.
"""

from __future__ import annotations

from harness.client.console import *  # noqa: F403
from harness.client.errors import (  # noqa: F401
    ERROR_DETAILS_MAX,
    LEGACY_NUMBERING_BEFORE,
    UNKNOWN_ERROR_NAME,
    ClientError,
    app_error_name,
    cap_details,
    error_from_number,
    error_lines,
    error_number,
    has_legacy_numbering,
)

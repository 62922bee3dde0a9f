"""User-facing errors: one clear sentence that names the thing and the fix."""


class HilError(Exception):
    """An error a user can cause and fix; the CLI prints it without a traceback (exit 2)."""

    exit_code = 2

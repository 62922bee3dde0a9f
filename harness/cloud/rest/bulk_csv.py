"""Bulk enrollment CSV: read identities (header ignored, first column, quotes) and write reports."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from harness.cloud.rest.errors import ApiProblem, bad_request

MAX_CSV_BYTES = 10 * 1024 * 1024
REPORT_COLUMNS = ("entity__id", "entity__created_at", "error__code", "error__type", "error__message",
                  "error__fields")


def _first_field(line: str) -> str:
    """The first CSV field of a line: quoted (with "" escapes) or bare; whitespace outside trimmed."""
    text = line.lstrip()
    if not text.startswith('"'):
        return text.split(",", 1)[0].strip()
    out, i = [], 1
    while i < len(text):
        char = text[i]
        if char == '"':
            if text[i + 1:i + 2] == '"':
                out.append('"')
                i += 2
                continue
            return "".join(out)
        out.append(char)
        i += 1
    raise bad_request(f"A quoted value is not closed in line {line[:40]!r}; close the quote.",
                      "enrollment_identities")


def parse_identities(data: bytes) -> list[str]:
    """Enrollment identities from the uploaded CSV, in file order (blank lines skipped)."""
    if len(data) > MAX_CSV_BYTES:
        raise ApiProblem(413, f"The CSV has {len(data)} bytes, more than the 10 MB allowed; "
                              "split it into smaller files.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise bad_request("The CSV is not UTF-8 text; save it as UTF-8.",
                          "enrollment_identities") from None
    lines = text.splitlines()[1:]
    values = [_first_field(line) for line in lines if line.strip()]
    return [v for v in values if v]


@dataclass(frozen=True)
class ReportRow:
    """One line of a bulk report."""

    entity_id: str
    created_at: str
    error_code: str = ""
    error_type: str = ""
    error_message: str = ""
    error_fields: str = ""

    @property
    def failed(self) -> bool:
        """True when this entity was not processed."""
        return bool(self.error_code)


def write_report(rows: list[ReportRow]) -> str:
    """A report CSV with the v3 column names."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    for row in rows:
        writer.writerow((row.entity_id, row.created_at, row.error_code, row.error_type,
                         row.error_message, row.error_fields))
    return buffer.getvalue()

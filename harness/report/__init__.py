"""Reports: JUnit enrichment for the pytest plugin, redaction, merging and summaries of JUnit files.

The per-test timeline is harness.report.timeline; the HTML report (`hil report html`) is
harness.report.html, imported on demand (it loads Jinja2 and matplotlib). The commands and the
rendering load rich when first named, so the pytest plugin's JUnit helpers do not.
"""

import importlib
from typing import Any

from harness.redact import REDACTED, redact
from harness.report.junit import (
    BOARD,
    CONSOLE_SECTION,
    DEVICE_ID,
    ENDPOINT_NAME,
    FIRMWARE,
    ONBOARDING_PHASES,
    PROBE_ID,
    SCENARIO,
    TARGET,
    ConsoleLogCollector,
    PhaseTimer,
    attach_console_log,
    console_from_sections,
    console_text,
    enrich_junit_file,
    junit_case_id,
    phase_property,
    record_board,
    record_device,
    set_properties,
    set_property,
    write_system_out,
    xml_safe,
)
from harness.report.merge import merge
from harness.report.summary import CaseResult, Counts, SuiteInfo, Summary, summarize
from harness.report.xmlfile import ReportError, load_junit, write_junit

__all__ = [
    "BOARD",
    "CONSOLE_SECTION",
    "DEVICE_ID",
    "ENDPOINT_NAME",
    "FIRMWARE",
    "ONBOARDING_PHASES",
    "PROBE_ID",
    "REDACTED",
    "SCENARIO",
    "TARGET",
    "CaseResult",
    "ConsoleLogCollector",
    "Counts",
    "PhaseTimer",
    "ReportError",
    "Summary",
    "SuiteInfo",
    "attach_console_log",
    "console_from_sections",
    "console_text",
    "enrich_junit_file",
    "junit_case_id",
    "load_junit",
    "merge",
    "phase_property",
    "print_summary",
    "record_board",
    "record_device",
    "redact",
    "report_merge",
    "report_summary",
    "set_properties",
    "set_property",
    "summarize",
    "summary_markdown",
    "summary_tables",
    "summary_text",
    "write_junit",
    "write_system_out",
    "xml_safe",
]

_ON_DEMAND = {"report_merge": "commands", "report_summary": "commands", "print_summary": "render",
              "summary_markdown": "render", "summary_tables": "render", "summary_text": "render"}
"""Names whose modules load rich: imported when first used."""


def __getattr__(name: str) -> Any:
    """The rich-based commands and renderers, imported on first use."""
    if name in _ON_DEMAND:
        return getattr(importlib.import_module(f"harness.report.{_ON_DEMAND[name]}"), name)
    raise AttributeError(f"module 'harness.report' has no attribute {name!r}")

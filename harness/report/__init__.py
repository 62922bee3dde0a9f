"""Reports: JUnit enrichment for the pytest plugin, redaction, merging and summaries of JUnit files.

The per-test timeline is harness.report.timeline; the HTML report (`hil report html`) is
harness.report.html, imported on demand (it loads Jinja2 and matplotlib).
"""

from harness.redact import REDACTED, redact
from harness.report.commands import report_merge, report_summary
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
from harness.report.render import print_summary, summary_markdown, summary_tables, summary_text
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

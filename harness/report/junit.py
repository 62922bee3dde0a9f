"""Helpers the pytest plugin calls to enrich a test's JUnit record: properties, phase timings, console log.

Properties go into a test item's ``user_properties`` list (what pytest's ``record_property`` appends
to; pytest writes them to ``<testcase><properties>`` in every junit_family, and pytest-xdist carries
them from workers). The console log travels as a report section named ``console`` (shown by pytest
on failure) and is written into each test case's ``<system-out>`` by ``ConsoleLogCollector`` once
pytest has written the JUnit file. Everything is redacted first.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from junitparser import Properties, TestCase, TestSuite

from harness.redact import redact
from harness.report.timeline import TIMELINE_PROPERTY
from harness.report.timeline import redact_property as redact_timeline
from harness.report.xmlfile import load_junit, write_junit

BOARD = "board"
TARGET = "target"
PROBE_ID = "probe_id"
FIRMWARE = "firmware"
BOARD_HOST = "board_host"
ENDPOINT_NAME = "endpoint_name"
DEVICE_ID = "device_id"
SCENARIO = "scenario"
PHASE_PREFIX = "phase."
PHASE_SUFFIX = "_s"
ONBOARDING_PHASES = ("provision", "bootstrap", "register")
CONSOLE_SECTION = "console"

UserProperties = list[tuple[str, object]]

_KEY_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----")
# Characters XML 1.0 cannot carry (pytest's bin_xml_escape uses the same set).
_ILLEGAL_XML = re.compile("[^\u0009\u000a\u000d\u0020-\u007e\u0080-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class ReportSectionSink(Protocol):
    """Anything with pytest's Item.add_report_section signature."""

    def add_report_section(self, when: str, key: str, content: str) -> None:
        """Attach a named text section to the test's report."""


def phase_property(phase: str) -> str:
    """Property name of an onboarding phase's duration, e.g. phase.bootstrap_s."""
    return f"{PHASE_PREFIX}{phase}{PHASE_SUFFIX}"


def set_property(props: UserProperties, name: str, value: object) -> None:
    """Set one redacted property in a user_properties list, replacing an earlier value of that name."""
    if value is None:
        return
    text = redact(value if isinstance(value, str) else str(value))
    props[:] = [(n, v) for n, v in props if n != name]
    props.append((name, text))


def set_properties(props: UserProperties, **values: object) -> None:
    """Set several properties at once (None values are skipped): set_properties(p, board="vb0")."""
    for name, value in values.items():
        set_property(props, name, value)


def record_board(
    props: UserProperties,
    *,
    board: str,
    target: str | None = None,
    probe_id: str | None = None,
    firmware: str | None = None,
    host: str | None = None,
) -> None:
    """Record which board, target, probe and firmware image a test ran on (and the board's host)."""
    set_properties(props, **{BOARD: board, TARGET: target, PROBE_ID: probe_id, FIRMWARE: firmware,
                             BOARD_HOST: host})


def record_device(
    props: UserProperties, *, endpoint_name: str | None = None, device_id: str | None = None
) -> None:
    """Record the endpoint name and device id the board reported."""
    set_properties(props, **{ENDPOINT_NAME: endpoint_name, DEVICE_ID: device_id})


class PhaseTimer:
    """Measures onboarding phases and records each as a phase.<name>_s property (seconds, 3 decimals)."""

    def __init__(self, props: UserProperties, clock: Callable[[], float] = time.monotonic) -> None:
        self._props = props
        self._clock = clock
        self.durations: dict[str, float] = {}
        self.spans: list[tuple[str, float, float]] = []
        """(phase, start, end) in time.time() seconds, the clock of the test's timeline."""

    def record(self, phase: str, seconds: float) -> None:
        """Record a phase duration measured elsewhere, ending now (a later value replaces an earlier one)."""
        self.durations[phase] = seconds
        end = time.time()
        self.spans.append((phase, end - seconds, end))
        set_property(self._props, phase_property(phase), f"{seconds:.3f}")

    @contextmanager
    def phase(self, phase: str) -> Iterator[None]:
        """Time the with-block as the named phase; a phase that raises is recorded too."""
        start = self._clock()
        try:
            yield
        finally:
            self.record(phase, self._clock() - start)


def xml_safe(text: str) -> str:
    """Replace characters XML 1.0 cannot hold (control bytes from a serial line) by #xNN."""
    return _ILLEGAL_XML.sub(lambda m: f"#x{ord(m[0]):02X}", text)


def _tail(text: str, tail_chars: int) -> str:
    """The last tail_chars characters, minus a private key's body cut off from its BEGIN line."""
    tail = text[-tail_chars:]
    end = _KEY_END.search(tail)
    if end is not None and "-----BEGIN " not in tail[: end.start()]:
        tail = tail[end.end() :]
    return tail


def console_text(text: str, *, tail_chars: int | None = None, log_path: Path | str | None = None) -> str:
    """Redact a console log and make it XML-safe, optionally keeping only its last tail_chars characters."""
    if tail_chars is not None and len(text) > tail_chars:
        where = f"; full log: {log_path}" if log_path else ""
        tail = _tail(text, tail_chars)
        text = f"[... {len(text) - len(tail)} earlier characters omitted{where}]\n{tail}"
    return xml_safe(redact(text))


def attach_console_log(
    item: ReportSectionSink,
    text: str,
    *,
    when: str = "teardown",
    tail_chars: int | None = None,
    log_path: Path | str | None = None,
) -> None:
    """Attach a board's redacted console log to a test's report as the `console` section."""
    content = console_text(text, tail_chars=tail_chars, log_path=log_path)
    item.add_report_section(when, CONSOLE_SECTION, content)


def console_from_sections(sections: Iterable[tuple[str, str]]) -> str | None:
    """Join the `console` sections of a TestReport.sections list (None when there are none)."""
    parts = [content for title, content in sections if title.startswith(f"Captured {CONSOLE_SECTION} ")]
    return "".join(parts) if parts else None


def junit_case_id(nodeid: str, prefix: str | None = None) -> tuple[str, str]:
    """The (classname, name) pytest's junitxml writes for a node id (same rule as its mangle_test_address)."""
    path, bracket, params = nodeid.partition("[")
    names = path.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    names[-1] += bracket + params
    classnames = names[:-1]
    if prefix:
        classnames.insert(0, prefix)
    return ".".join(classnames), names[-1]


def _append_system_out(case: TestCase, text: str) -> None:
    """Append a console log under a header to a test case's <system-out>."""
    header = f"{' console ':-^80}\n"
    existing = case.system_out
    case.system_out = f"{existing}\n{header}{text}" if existing else f"{header}{text}"


def _redact_case(case: TestCase) -> None:
    """Redact a test case's result messages and texts, captured output and property values."""
    for result in case.result:
        if result.message:
            result.message = xml_safe(redact(result.message))
        if result.text:
            result.text = xml_safe(redact(result.text))
    if case.system_out:
        case.system_out = xml_safe(redact(case.system_out))
    if case.system_err:
        case.system_err = xml_safe(redact(case.system_err))
    props = case.child(Properties)
    for prop in props if props is not None else ():
        if prop.value and prop.name == TIMELINE_PROPERTY:
            prop.value = xml_safe(redact_timeline(prop.value))
        elif prop.value:
            prop.value = xml_safe(redact(prop.value))


def _set_suite_property(suite: TestSuite, name: str, value: object) -> None:
    """Set a suite property, replacing an earlier one of the same name."""
    for prop in list(suite.properties()):
        if prop.name == name:
            suite.remove_property(prop)
    suite.add_property(name, xml_safe(redact(str(value))))


def enrich_junit_file(
    junit_path: Path | str,
    *,
    console_logs: Mapping[str, str] | None = None,
    suite_properties: Mapping[str, object] | None = None,
    prefix: str | None = None,
    redact_all: bool = True,
) -> int:
    """Add console logs (by node id) to <system-out> and properties to every suite; return cases updated.

    Suite properties (lab, host, run id) are set here because pytest's record_testsuite_property
    does not work under pytest-xdist. With redact_all, everything pytest wrote itself (failure
    messages and tracebacks, captured output, properties) is redacted too.
    """
    wanted = {junit_case_id(nodeid, prefix): text for nodeid, text in (console_logs or {}).items()}
    if not wanted and not suite_properties and not redact_all:
        return 0
    xml = load_junit(junit_path)
    updated = 0
    for suite in xml:
        for name, value in (suite_properties or {}).items():
            _set_suite_property(suite, name, value)
        for case in suite:
            if redact_all:
                _redact_case(case)
            text = wanted.get((case.classname or "", case.name or ""))
            if text is not None:
                _append_system_out(case, text)
                updated += 1
    write_junit(xml, junit_path)
    return updated


def write_system_out(junit_path: Path | str, logs: Mapping[str, str], *, prefix: str | None = None) -> int:
    """Append each node id's console log to its test case's <system-out>; return how many cases got one."""
    return enrich_junit_file(junit_path, console_logs=logs, prefix=prefix)


class ConsoleLogCollector:
    """Collects `console` sections from test reports (also from xdist workers) and writes them to JUnit."""

    def __init__(self) -> None:
        self.logs: dict[str, str] = {}

    def add(self, nodeid: str, sections: Iterable[tuple[str, str]]) -> None:
        """Take the console log of one report; later reports of a test carry all earlier sections."""
        text = console_from_sections(sections)
        if text is not None:
            self.logs[nodeid] = text

    def write(
        self,
        junit_path: Path | str,
        *,
        suite_properties: Mapping[str, object] | None = None,
        prefix: str | None = None,
    ) -> int:
        """Write the collected logs (and suite properties) into junit_path; return cases updated."""
        return enrich_junit_file(
            junit_path, console_logs=self.logs, suite_properties=suite_properties, prefix=prefix
        )

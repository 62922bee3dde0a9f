"""The enrichment helpers: properties, phase timer, console text, node id mapping, file enrichment."""

from __future__ import annotations

from pathlib import Path

import pytest
from _pytest.junitxml import mangle_test_address
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from junitparser import JUnitXml

from harness.report import (
    REDACTED,
    ConsoleLogCollector,
    PhaseTimer,
    attach_console_log,
    console_from_sections,
    console_text,
    enrich_junit_file,
    junit_case_id,
    record_board,
    record_device,
    set_property,
    summarize,
    xml_safe,
)
from harness.report.summary import scenario_of
from harness.report.xmlfile import case_properties


class FakeClock:
    """A clock the test advances by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class SectionSink:
    """Records add_report_section calls like a pytest Item."""

    def __init__(self) -> None:
        self.sections: list[tuple[str, str, str]] = []

    def add_report_section(self, when: str, key: str, content: str) -> None:
        self.sections.append((when, key, content))


def test_properties_replace_skip_none_and_redact() -> None:
    props: list[tuple[str, object]] = [("other", 1)]
    record_board(props, board="vb0", target="K64F", probe_id=None, firmware="factory")
    record_board(props, board="vb1")
    record_device(props, endpoint_name="ep-1", device_id="0176aa")
    set_property(props, "note", "Authorization: Bearer abc123")
    assert props == [
        ("other", 1),
        ("target", "K64F"),
        ("firmware", "factory"),
        ("board", "vb1"),
        ("endpoint_name", "ep-1"),
        ("device_id", "0176aa"),
        ("note", f"Authorization: Bearer {REDACTED}"),
    ]


def test_phase_timer_records_seconds_even_when_the_phase_fails() -> None:
    props: list[tuple[str, object]] = []
    clock = FakeClock()
    timer = PhaseTimer(props, clock=clock)
    with timer.phase("provision"):
        clock.now += 1.25
    with pytest.raises(TimeoutError), timer.phase("bootstrap"):
        clock.now += 30.0
        raise TimeoutError("no Bootstrap-Finish")
    timer.record("register", 0.5)
    assert timer.durations == {"provision": 1.25, "bootstrap": 30.0, "register": 0.5}
    assert props == [
        ("phase.provision_s", "1.250"),
        ("phase.bootstrap_s", "30.000"),
        ("phase.register_s", "0.500"),
    ]


def test_console_text_redacts_escapes_and_keeps_the_tail() -> None:
    assert xml_safe("a\x00b\x1bc\td\n") == "a#x00b#x1Bc\td\n"
    text = "password=abc\n" + "x" * 50 + "\nClient registered\x07\n"
    out = console_text(text, tail_chars=20, log_path="logs/t/console.log")
    assert out.startswith("[... ")
    assert "earlier characters omitted; full log: logs/t/console.log]\n" in out
    assert out.endswith("Client registered#x07\n")
    assert "abc" not in console_text("password=abc")


def test_console_tail_never_starts_inside_a_private_key() -> None:
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(  # "EC PRIVATE KEY" block
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()).decode()
    after = "\nClient registered\n"
    text = f"boot\n{key.rstrip()}{after}"
    out = console_text(text, tail_chars=len(text) - 40)  # the cut lands inside the key body
    assert out == f"[... {len(text) - len(after)} earlier characters omitted]\n{after}"


def test_attach_console_log_and_read_it_back_from_sections() -> None:
    item = SectionSink()
    attach_console_log(item, "boot\nak_0123456789abcdef\n")
    assert item.sections == [("teardown", "console", f"boot\n{REDACTED}\n")]
    sections = [("Captured stdout call", "print"), ("Captured console teardown", "boot\n")]
    assert console_from_sections(sections) == "boot\n"
    assert console_from_sections([("Captured stdout call", "print")]) is None


@pytest.mark.parametrize(
    "nodeid",
    [
        "tests/e2e/test_onboarding.py::test_developer_certificate[vb0]",
        "tests/e2e/test_ftc.py::TestClaim::test_claim[vb1-direct::x]",
        "test_top.py::test_plain",
    ],
)
def test_junit_case_id_matches_pytest(nodeid: str) -> None:
    names = mangle_test_address(nodeid)
    assert junit_case_id(nodeid) == (".".join(names[:-1]), names[-1])
    assert junit_case_id(nodeid, prefix="labA")[0] == "labA." + ".".join(names[:-1])


def _write_pytest_like(path: Path) -> None:
    """A JUnit file shaped like pytest's, one case already holding captured stdout."""
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">'
        '<testsuite name="pytest" tests="2" hostname="lab-host">'
        '<testcase classname="tests.e2e.test_onboarding" name="test_dev[vb0]" time="1.0">'
        '<properties><property name="board" value="vb0"/></properties>'
        "<system-out>printed by the test</system-out></testcase>"
        '<testcase classname="tests.e2e.test_onboarding" name="test_dev[vb1]" time="2.0"/>'
        "</testsuite></testsuites>"
    )


def test_enrich_junit_file_appends_console_and_sets_suite_properties(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    _write_pytest_like(path)
    collector = ConsoleLogCollector()
    collector.add("tests/e2e/test_onboarding.py::test_dev[vb0]", [("Captured console setup", "early\n")])
    collector.add(
        "tests/e2e/test_onboarding.py::test_dev[vb0]",
        [("Captured console setup", "early\n"), ("Captured console teardown", "late\n")],
    )
    collector.add("tests/e2e/test_onboarding.py::test_dev[vb1]", [("Captured stdout call", "x")])
    collector.add("tests/e2e/test_gone.py::test_removed", [("Captured console call", "lost?\n")])
    assert collector.write(path, suite_properties={"lab": "lab-a", "run": 7}) == 1
    assert collector.write(path, suite_properties={"lab": "lab-b"}) == 1  # the file is re-readable

    suite = next(iter(JUnitXml.fromfile(str(path))))
    assert {p.name: p.value for p in suite.properties()} == {"lab": "lab-b", "run": "7"}
    first, second = list(suite)
    assert first.system_out.startswith("printed by the test\n")
    assert first.system_out.count("early\nlate\n") == 2
    assert second.system_out is None
    assert case_properties(first) == {"board": "vb0"}


def test_enrich_junit_file_without_anything_to_add_leaves_the_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    _write_pytest_like(path)
    before = path.read_bytes()
    assert enrich_junit_file(path, redact_all=False) == 0
    assert path.read_bytes() == before


def test_enrich_junit_file_redacts_what_pytest_wrote(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    path.write_text(
        '<testsuites><testsuite name="pytest"><testcase classname="t" name="test_a">'
        '<properties><property name="api" value="ak_0123456789abcdef"/></properties>'
        '<failure message="login failed, password=hunter2">E   Authorization: Bearer abc.def</failure>'
        "<system-out>token=xyz</system-out><system-err>secret: 0a1b2c3d4e5f60718293a4b5</system-err>"
        "</testcase></testsuite></testsuites>"
    )
    assert enrich_junit_file(path) == 0
    text = path.read_text()
    for secret in ("ak_0123456789abcdef", "hunter2", "abc.def", "xyz", "0a1b2c3d4e5f60718293a4b5"):
        assert secret not in text
    assert text.count(REDACTED) == 5
    assert 'message="login failed, password=[REDACTED]"' in text


def test_scenario_property_wins_and_names_without_a_test_module(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    path.write_text(
        "<testsuite>"
        '<testcase classname="tests.e2e.test_ftc" name="test_claim[vb0]">'
        '<properties><property name="scenario" value="First-to-Claim"/></properties></testcase>'
        '<testcase classname="checks.Smoke" name="boot"/>'
        '<testcase name="bare"/>'
        "</testsuite>"
    )
    summary = summarize(path)
    assert [c.scenario for c in summary.cases] == ["First-to-Claim", "Smoke::boot", "bare"]
    assert [c.board for c in summary.cases] == ["(no board)"] * 3
    assert summary.ok and summary.totals.passed == 3
    case = next(iter(next(iter(JUnitXml.fromfile(str(path))))))
    assert scenario_of(case, {}) == "test_ftc::test_claim"

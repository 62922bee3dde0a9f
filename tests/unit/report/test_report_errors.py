"""Bad report inputs end in one clear ReportError (a HilError) that names the file; nothing is lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import HilError
from harness.report import ReportError, merge, summarize

GOOD = (
    '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="1">'
    '<testcase classname="tests.e2e.test_x" name="test_a" time="0.5"/></testsuite></testsuites>'
)


@pytest.fixture
def good(tmp_path: Path) -> Path:
    """A minimal valid JUnit file."""
    path = tmp_path / "good.xml"
    path.write_text(GOOD)
    return path


def _one_sentence(message: str) -> None:
    """The error is one sentence (one final period, no newline)."""
    assert "\n" not in message
    assert message.endswith(".")


def test_missing_file(good: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.xml"
    expected = r"JUnit file .*nope\.xml does not exist; pass a JUnit XML file"
    with pytest.raises(ReportError, match=expected) as exc:
        merge([good, missing], tmp_path / "out.xml")
    assert isinstance(exc.value, HilError)
    _one_sentence(str(exc.value))
    assert not (tmp_path / "out.xml").exists()


def test_corrupt_xml(good: Path, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.xml"
    corrupt.write_text(GOOD[: len(GOOD) // 2])  # a run killed while writing
    with pytest.raises(ReportError, match=r"JUnit file .*corrupt\.xml is not valid XML \(") as exc:
        merge([good, corrupt], tmp_path / "out.xml")
    _one_sentence(str(exc.value))
    with pytest.raises(ReportError, match=r"corrupt\.xml is not valid XML"):
        summarize(corrupt)


def test_xml_that_is_not_junit(tmp_path: Path) -> None:
    other = tmp_path / "pom.xml"
    other.write_text("<project><modelVersion>4.0.0</modelVersion></project>")
    with pytest.raises(ReportError, match=r"pom\.xml is XML but not JUnit") as exc:
        summarize(other)
    _one_sentence(str(exc.value))


def test_no_inputs_and_duplicates(good: Path, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="No JUnit files were given"):
        merge([], tmp_path / "out.xml")
    with pytest.raises(ReportError, match=r"good\.xml is given twice"):
        merge([good, tmp_path / "." / "good.xml"], tmp_path / "out.xml")


def test_unwritable_output_keeps_the_existing_file(good: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ReportError, match=r"Report .*out\.xml cannot be written") as exc:
        merge([good], blocker / "out.xml")
    _one_sentence(str(exc.value))
    assert blocker.read_text() == "not a directory"


def test_merge_may_overwrite_one_of_its_inputs(good: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.xml"
    other.write_text(GOOD.replace("test_a", "test_b"))
    merge([good, other], good)
    summary = summarize(good)
    assert summary.totals.total == 2
    assert sorted(c.scenario for c in summary.cases) == ["test_x::test_a", "test_x::test_b"]
    assert not list(tmp_path.glob(".*.tmp"))

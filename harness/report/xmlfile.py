"""Read and write JUnit XML files with junitparser; a missing or malformed file is one clear HilError."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from xml.etree.ElementTree import ParseError

from junitparser import JUnitXml, JUnitXmlError, Properties, TestCase

from harness.errors import HilError

_HINT = "pass a JUnit XML file written by pytest --junitxml or `hil run`"


class ReportError(HilError):
    """A report input or output file is missing, unreadable or not JUnit XML."""


def load_junit(path: Path | str) -> JUnitXml:
    """Parse one JUnit XML file; raise ReportError naming the file when it is missing or not JUnit."""
    path = Path(path)
    if not path.is_file():
        raise ReportError(f"JUnit file {path} does not exist; {_HINT}.")
    try:
        xml = JUnitXml.fromfile(str(path))
    except ParseError as exc:
        raise ReportError(f"JUnit file {path} is not valid XML ({exc}); {_HINT}.") from None
    except JUnitXmlError:
        raise ReportError(
            f"JUnit file {path} is XML but not JUnit (its root is not <testsuites> or <testsuite>); {_HINT}."
        ) from None
    except OSError as exc:
        raise ReportError(
            f"JUnit file {path} cannot be read ({exc.strerror}); check its permissions."
        ) from None
    return xml


def case_properties(case: TestCase) -> dict[str, str]:
    """Return a test case's <properties> as a dict (the last value wins for a repeated name)."""
    props = case.child(Properties)
    if props is None:
        return {}
    return {prop.name: prop.value or "" for prop in props if prop.name}


def _unwritable(path: Path, exc: OSError) -> ReportError:
    """The error for a report that cannot be written."""
    return ReportError(f"Report {path} cannot be written ({exc.strerror}); choose a writable path.")


def write_junit(xml: JUnitXml, path: Path | str) -> Path:
    """Write xml to path through a temporary file, so a crash never leaves a half-written report."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise _unwritable(path, exc) from None
    try:
        xml.write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise _unwritable(path, exc) from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path

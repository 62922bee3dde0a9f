"""Merge several JUnit XML files (runs, labs, hosts) into one, keeping every suite's name and properties."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from junitparser import JUnitXml

from harness.report.xmlfile import ReportError, load_junit, write_junit

SOURCE_PROPERTY = "hil.source"
WALL_TIME_PROPERTY = "hil.wall_time_s"


def _stamp_source(xml: JUnitXml, source: str) -> None:
    """Record which file each suite came from and its wall time, unless an earlier merge already did.

    junitparser recomputes a merged suite's time as the sum of its cases, so the run's wall time
    (shorter under pytest -n) is kept as a property.
    """
    for suite in xml:
        names = {prop.name for prop in suite.properties()}
        if SOURCE_PROPERTY not in names:
            suite.add_property(SOURCE_PROPERTY, source)
        if WALL_TIME_PROPERTY not in names and suite.time is not None:
            suite.add_property(WALL_TIME_PROPERTY, f"{suite.time:.3f}")


def merge(paths: Sequence[Path | str], out: Path | str) -> Path:
    """Merge the JUnit files in paths into out (suites kept apart, each stamped with its source file)."""
    paths = [Path(p) for p in paths]
    out = Path(out)
    if not paths:
        raise ReportError("No JUnit files were given to merge; pass at least one XML file.")
    seen: dict[Path, Path] = {}
    for path in paths:
        key = path.resolve()
        if key in seen:
            raise ReportError(f"JUnit file {path} is given twice; pass each file once.")
        seen[key] = path
    merged = JUnitXml()
    for path in paths:
        xml = load_junit(path)
        _stamp_source(xml, path.name)
        merged += xml
    return write_junit(merged, out)

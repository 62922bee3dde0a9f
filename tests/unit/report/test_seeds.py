"""Seed statements: quotes are checked against their documents, and the summary lists scenarios per seed."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from harness.report.render import summary_markdown
from harness.report.seeds import DOCUMENTS, SEED, SEED_QUOTE, quoted_in, seed_properties
from harness.report.summary import summarize

ROOT = Path(__file__).resolve().parents[3]
SEEDS_DIR = Path(os.environ.get("HIL_SEEDS_DIR") or next(
    (p for p in (ROOT.parent / "shared" / "seeds", ROOT.parent.parent / "shared" / "seeds")
     if p.is_dir()), ROOT.parent / "shared" / "seeds"))
"""The seed documents: shared/seeds beside the checkout (or beside its parent, for a worktree)."""


def _seed_marks() -> list[tuple[str, str, str, int]]:
    """Every @pytest.mark.seed(doc, "quote") in tests/e2e as (doc, quote, file, line)."""
    found = []
    for path in sorted((ROOT / "tests" / "e2e").glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "seed" and len(node.args) == 2):
                doc, quote = (ast.literal_eval(a) for a in node.args)
                found.append((doc, quote, path.name, node.lineno))
    return found


def _documents() -> dict[str, str]:
    """Seed short name -> document text, from the seeds directory (by each document's title)."""
    texts = [p.read_text() for p in sorted(SEEDS_DIR.glob("*.txt"))]
    docs = {}
    for name, title in DOCUMENTS.items():
        docs[name] = next((t for t in texts if title in t[:200]), "")
    return docs


def test_a_quote_may_elide_and_ignores_line_breaks() -> None:
    doc = "The device cannot fall back to bootstrap.\nThere are also limitations on renewing."
    assert quoted_in("The device cannot fall back ... also limitations", doc)
    assert quoted_in("bootstrap. There are", doc)
    assert not quoted_in("The device can fall back to bootstrap", doc)
    assert not quoted_in("limitations ... The device", doc)  # pieces must come in order


def test_seed_properties_name_the_document_and_the_quote() -> None:
    props = seed_properties([("onboarding", "more than 10 times\n within 10 seconds"),
                             ("onboarding", "put on hold for 60 seconds")])
    assert props == {SEED: "Device onboarding and connection options",
                     SEED_QUOTE: "more than 10 times within 10 seconds | put on hold for 60 seconds"}
    with pytest.raises(ValueError, match="unknown seed document 'nope'"):
        seed_properties([("nope", "x")])


def test_the_e2e_suite_names_seed_statements_of_every_document() -> None:
    marks = _seed_marks()
    assert {doc for doc, *_ in marks} == set(DOCUMENTS), "every seed document is asserted somewhere"


@pytest.mark.skipif(not SEEDS_DIR.is_dir(), reason=f"the seed documents are not at {SEEDS_DIR} "
                    "(set HIL_SEEDS_DIR)")
def test_every_quoted_seed_statement_is_in_its_document() -> None:
    docs = _documents()
    assert all(docs.values()), f"a seed document is missing in {SEEDS_DIR}"
    wrong = [f"{file}:{line} {doc}: {quote!r}" for doc, quote, file, line in _seed_marks()
             if not quoted_in(quote, docs[doc])]
    assert wrong == [], "quotes not found in their seed document:\n" + "\n".join(wrong)


CASE = """<testcase classname="tests.e2e.test_x" name="{name}" time="1.0">
<properties><property name="scenario" value="{scenario}"/>{seed}</properties>{result}</testcase>"""


def test_summary_lists_the_scenarios_per_seed(tmp_path: Path) -> None:
    seed = '<property name="seed" value="{0}"/>'
    cases = [
        CASE.format(name="a", scenario="rate limit", result="",
                    seed=seed.format("Device onboarding and connection options")),
        CASE.format(name="b", scenario="quota", result='<failure message="x"/>',
                    seed=seed.format("First-to-Claim by enrollment list; JWT keys")),
        CASE.format(name="c", scenario="unnamed", result="", seed=""),
    ]
    path = tmp_path / "junit.xml"
    path.write_text(f'<testsuites><testsuite name="pytest" tests="3">{"".join(cases)}'
                    "</testsuite></testsuites>")
    summary = summarize(path)
    assert {seed: list(s) for seed, s in summary.by_seed.items()} == {
        "Device onboarding and connection options": ["rate limit"],
        "First-to-Claim by enrollment list": ["quota"],
        "JWT keys": ["quota"],
    }
    assert summary.by_seed["JWT keys"]["quota"].failed == 1
    text = summary_markdown(summary)
    assert "## Scenarios per seed" in text
    assert "| JWT keys | quota | 1 | 0 | 1 |" in text

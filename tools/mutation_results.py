"""The results of tools/mutation.py: mutants and module scores, outcomes kept without a run, the report.

Two kinds of outcome need no run:

- an earlier run's (`--recheck EARLIER.json`): between two runs tests are only ever added, so a
  mutant the earlier run killed (or timed out) stays killed; it is kept when this run chose the
  same mutant (module, line, index) with the same mutated text. A mutant whose line or text
  changed (an edit re-drew the sample) is run again, as is every earlier survivor;
- a reviewed equivalent (`--equivalent FILE`, default tools/mutation-equivalent.txt under --root):
  a line `MODULE:LINE#INDEX | mutated line text | why it is equivalent` matches a chosen mutant
  of that module with that mutated text (LINE#INDEX only says where it was: line numbers drift).
  Such a mutant is left out of the score, and the report lists it with its reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

EQUIVALENT_FORMAT = "MODULE:LINE#INDEX | mutated line text | why it is equivalent"
EQUIVALENT_DEFAULT = "tools/mutation-equivalent.txt"
_MUTANT_NAME = re.compile(r"^(?P<module>\S+\.py):(?P<line>\d+)#(?P<index>\d+)$")
_KEPT_OUTCOMES = ("killed", "timeout")


class ResultsError(ValueError):
    """An input file of the tool (an earlier run, the equivalent list) that cannot be used."""


@dataclass
class Mutant:
    """One mutation of a module and what the tests made of it."""

    module: str
    line_number: int
    index: int
    original: str
    mutated: str
    outcome: str = "not run"
    seconds: float = 0.0
    tests: str = "all"  # 'all' (the whole test command), 'none' (no test runs the line), or N
    from_earlier: bool = False  # the outcome is the --recheck run's, not this run's
    why: str = ""  # why it is equivalent, from the reviewed list
    killed_by: str = ""  # the first failing test's summary line (FAILED <test> - <message>)


@dataclass
class ModuleScore:
    """Killed / survived / timed-out counts of one module."""

    module: str
    total_mutants: int
    skipped_logging: int
    mutants: list[Mutant] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        """Mutants with this outcome."""
        return sum(1 for m in self.mutants if m.outcome == outcome)

    @property
    def score(self) -> float:
        """Killed (a failing run or a hang) per mutant run, in percent (equivalent ones left out)."""
        run = [m for m in self.mutants if m.outcome not in ("not run", "equivalent")]
        killed = sum(1 for m in run if m.outcome in ("killed", "timeout"))
        return 100.0 * killed / len(run) if run else 0.0


@dataclass(frozen=True)
class Equivalent:
    """One reviewed equivalent mutant: where it was, its mutated line and why it is equivalent."""

    module: str
    line_number: int
    index: int
    mutated: str
    why: str


def parse_equivalents(path: Path) -> list[Equivalent]:
    """The entries of a reviewed equivalent list; ResultsError names a malformed line."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ResultsError(f"cannot read the equivalent list {path} ({exc.strerror}); give an "
                           "existing file to --equivalent") from exc
    entries = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, rest = line.partition("|")
        mutated, _, why = rest.rpartition("|")
        found = _MUTANT_NAME.match(name.strip())
        if found is None or not mutated.strip() or not why.strip():
            raise ResultsError(f"{path} line {number} is not '{EQUIVALENT_FORMAT}' (e.g. "
                               "'harness/x.py:12#0 | return a < b | why'): fix or remove it")
        entries.append(Equivalent(found["module"], int(found["line"]), int(found["index"]),
                                  mutated.strip(), why.strip()))
    return entries


def reviewed_equivalent(mutant: Mutant, entries: list[Equivalent]) -> Equivalent | None:
    """The entry of the list matching this mutant (same module, same mutated text), if any."""
    return next((e for e in entries if e.module == mutant.module and e.mutated == mutant.mutated),
                None)


def load_earlier(path: Path) -> dict[tuple[str, int, int], Mutant]:
    """The mutants of an earlier run's --json output, by (module, line, index)."""
    try:
        scores = json.loads(path.read_text())
        mutants = [Mutant(**m) for s in scores for m in s["mutants"]]
    except OSError as exc:
        raise ResultsError(f"cannot read the earlier run {path} ({exc.strerror}); give --recheck "
                           "the file an earlier run wrote with --json") from exc
    except (ValueError, TypeError, KeyError) as exc:
        raise ResultsError(f"{path} is not the --json output of tools/mutation.py ({exc}); give "
                           "--recheck the file an earlier run wrote with --json") from exc
    return {(m.module, m.line_number, m.index): m for m in mutants}


def kept_from_earlier(mutant: Mutant, earlier: dict[tuple[str, int, int], Mutant]) -> bool:
    """Take the earlier run's outcome when it killed (or timed out on) this very mutant."""
    before = earlier.get((mutant.module, mutant.line_number, mutant.index))
    if before is None or before.mutated != mutant.mutated or before.outcome not in _KEPT_OUTCOMES:
        return False
    mutant.outcome, mutant.tests, mutant.from_earlier = before.outcome, before.tests, True
    return True


def settle_without_run(mutant: Mutant, entries: list[Equivalent],
                       earlier: dict[tuple[str, int, int], Mutant]) -> bool:
    """Give the mutant its outcome from the reviewed list or the earlier run; False: run it."""
    entry = reviewed_equivalent(mutant, entries)
    if entry is not None:
        mutant.outcome, mutant.why = "equivalent", entry.why
        return True
    return kept_from_earlier(mutant, earlier)


def outcome_label(mutant: Mutant) -> str:
    """The outcome as the progress lines print it (saying where it came from)."""
    if mutant.from_earlier:
        return f"{mutant.outcome} (earlier run)"
    return f"{mutant.outcome} (reviewed)" if mutant.why else mutant.outcome


def report(scores: list[ModuleScore]) -> str:
    """The score table, the survivors and the reviewed equivalents, as text."""
    out = [f"{'module':48} {'mutants':>7} {'run':>5} {'killed':>6} {'timeout':>7} {'survived':>8} "
           f"{'equiv':>5} {'score':>6}"]
    for s in scores:
        ran = len([m for m in s.mutants if m.outcome != "not run"])
        out.append(f"{s.module:48} {s.total_mutants:>7} {ran:>5} {s.count('killed'):>6} "
                   f"{s.count('timeout'):>7} {s.count('survived'):>8} {s.count('equivalent'):>5} "
                   f"{s.score:>5.1f}%")
    chosen = [m for s in scores for m in s.mutants]
    run = [m for m in chosen if m.outcome not in ("not run", "equivalent")]
    killed = sum(1 for m in run if m.outcome in _KEPT_OUTCOMES)
    earlier = sum(1 for m in run if m.from_earlier)
    reviewed = [m for m in chosen if m.outcome == "equivalent" and m.why]
    kinds = {"annotation only": sum(1 for m in chosen if m.outcome == "equivalent" and not m.why),
             "reviewed": len(reviewed)}
    equivalent = sum(kinds.values())
    kinds_text = ", ".join(f"{n} {k}" if equivalent != n else k for k, n in kinds.items() if n)
    out.append(f"TOTAL: {killed} of {len(run)} mutants killed"
               + (f" ({100.0 * killed / len(run):.1f} %)" if run else "")
               + (f"; {earlier} of these outcomes from the earlier run" if earlier else "")
               + (f"; {equivalent} equivalent ({kinds_text}) left out" if equivalent else ""))
    survivors = [m for m in run if m.outcome == "survived"]
    if survivors:
        out.append("\nSurvivors:")
        out += [f"  {m.module}:{m.line_number}#{m.index}: {m.original}\n      -> {m.mutated}"
                + ("  (no test executes this line)" if m.tests == "none" else "") for m in survivors]
    if reviewed:
        out.append("\nEquivalent (reviewed):")
        out += [f"  {m.module}:{m.line_number}#{m.index}: {m.original}\n      -> {m.mutated}\n"
                f"      why: {m.why}" for m in reviewed]
    return "\n".join(out)


def write_json(path: Path, scores: list[ModuleScore]) -> None:
    """Write the results (every module's score and mutants) as JSON, as --recheck reads them."""
    path.write_text(json.dumps([{**asdict(s), "score": s.score} for s in scores], indent=1))

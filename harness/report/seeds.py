"""The documents the e2e suite asserts (seeds): their names, and the JUnit properties naming them.

A scenario names the seed statement it checks with `@pytest.mark.seed(DOC, "quoted sentence")`;
the plugin writes the document title to the `seed` property and the quote to `seed.quote`, and
`hil report summary` lists the scenarios per seed.
"""

from __future__ import annotations

import re

SEED = "seed"
SEED_QUOTE = "seed.quote"
SEPARATOR = "; "
QUOTE_SEPARATOR = " | "

DOCUMENTS: dict[str, str] = {
    "credentials": "Device credentials",
    "onboarding": "Device onboarding and connection options",
    "first-to-claim": "First-to-Claim by enrollment list",
    "jwt": "JWT keys",
}
"""Short name (used in the marker) -> the document's title."""

_SPACE = re.compile(r"\s+")
_ELLIPSIS = re.compile(r"\s*\.\.\.\s*")


def title_of(doc: str) -> str:
    """The title of a seed document named by its short name (one clear error when unknown)."""
    try:
        return DOCUMENTS[doc]
    except KeyError:
        known = ", ".join(sorted(DOCUMENTS))
        raise ValueError(f"unknown seed document {doc!r} in a seed marker; use one of: {known}") from None


def normalized(text: str) -> str:
    """Text with whitespace runs made single spaces (how a quote is compared with its document)."""
    return _SPACE.sub(" ", text.replace("\u2192", "->")).strip()


def quote_parts(quote: str) -> list[str]:
    """The pieces of a quote that elides with '...': each must appear in the document, in order."""
    return [part for part in (normalized(p) for p in _ELLIPSIS.split(quote)) if part]


def quoted_in(quote: str, document: str) -> bool:
    """True when every piece of `quote` appears in `document`, in order (whitespace-insensitive)."""
    text = normalized(document)
    at = 0
    for part in quote_parts(quote):
        found = text.find(part, at)
        if found < 0:
            return False
        at = found + len(part)
    return True


def seed_properties(marks: list[tuple[str, str]]) -> dict[str, str]:
    """The JUnit properties of a test's seed markers [(doc, quote), ...]."""
    titles = list(dict.fromkeys(title_of(doc) for doc, _ in marks))
    quotes = [normalized(quote) for _, quote in marks]
    return {SEED: SEPARATOR.join(titles), SEED_QUOTE: QUOTE_SEPARATOR.join(quotes)} if marks else {}


def seeds_of(properties: dict[str, str]) -> list[str]:
    """The seed document titles a test case names (from its `seed` property)."""
    return [s for s in (properties.get(SEED) or "").split(SEPARATOR) if s]

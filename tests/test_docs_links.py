"""Every relative link in the README and docs reaches a file, and every #anchor a heading there.

Measurements move between pages as the docs grow (docs/colour-pilots.md was split out of
fast-recipes.md); a link left pointing at the old page fails here, not in a reader's browser.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~)")


def prose(text: str) -> str:
    """The page without its fenced code blocks (a "](x)" in code is not a link)."""
    kept, in_code = [], False
    for line in text.split("\n"):
        if FENCE.match(line.lstrip()):
            in_code = not in_code
        elif not in_code:
            kept.append(line)
    return "\n".join(kept)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, only letters, digits, '-', '_' and spaces kept, spaces
    to '-'."""
    text = heading.strip().lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


@functools.cache  # many links point into the same few pages
def anchors(page: Path) -> set[str]:
    """The anchors of a page's headings; a repeated heading's anchor gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    for line in prose(page.read_text()).split("\n"):
        match = re.match(r"#{1,6} (.+)", line)
        if not match:
            continue
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def test_slug_follows_github() -> None:
    assert slug("Digits: `ganforge train mnist --minutes 5`") == "digits-ganforge-train-mnist---minutes-5"
    assert slug("Eighteenth session: the projected D's image at 128 px") == (
        "eighteenth-session-the-projected-ds-image-at-128-px"
    )
    assert slug("Colour: Twemoji at 64×64") == "colour-twemoji-at-6464"


def test_a_broken_link_is_found(tmp_path: Path) -> None:
    page = tmp_path / "a.md"
    page.write_text("# Title\n\n[ok](#title) [bad](#nowhere) [gone](b.md)\n")
    assert broken_links(page) == ["#nowhere", "b.md"]


def broken_links(page: Path) -> list[str]:
    """The relative links of ``page`` whose file or heading does not exist."""
    broken = []
    for target in LINK.findall(prose(page.read_text())):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists() or (anchor and dest.suffix == ".md" and anchor not in anchors(dest)):
            broken.append(target)
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve(page: Path) -> None:
    assert broken_links(page) == []

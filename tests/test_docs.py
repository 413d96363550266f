"""The docs stand alone: every relative link resolves, no reader is sent to a
file the repo does not have (the product contract lives outside the repo)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import ROOT

DOCS = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
# [text](target) and ![alt](target), not inside `code`; the target ends at a
# space (an optional "title") or the closing parenthesis.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces → '-'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found, seen = set(), {}
    in_code = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        match = None if in_code else HEADING.match(line)
        if match:
            base = slug(match[1])
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
    return found


def links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return [t for t in LINK.findall(text) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]


def test_slug_follows_github():
    assert slug("Drafting the rules: `init` and `suggest`") == "drafting-the-rules-init-and-suggest"
    assert slug("Google Sheets specifics (`sink.type: google_sheets`)") == \
        "google-sheets-specifics-sinktype-google_sheets"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_relative_link_resolves(doc):
    assert links(ROOT / "README.md"), "the link pattern finds nothing: it is broken"
    broken = []
    for target in links(doc):
        file, _, anchor = target.partition("#")
        dest = (doc.parent / file).resolve() if file else doc
        if not dest.exists():
            broken.append(f"{target}: no file {dest}")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.name}")
    assert not broken, f"{doc.name}: " + "; ".join(broken)


def test_no_reference_to_a_file_outside_the_repo():
    cited = []
    for folder in ("docs", "config", "deploy"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in {".md", ".yaml", ".yml", ".py", ".service",
                                                  ".timer", ".txt", ""} | {".csv"}:
                cited += _citations(path)
    cited += _citations(ROOT / "README.md") + _citations(ROOT / "Makefile")
    assert not cited, "\n".join(cited)


def _citations(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return []
    return [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
            for n, line in enumerate(text.splitlines(), 1)
            if CONTRACT in line or re.search(r"§\s*\d", line)]


CONTRACT = "PRODUCT" ".md"   # the team's contract file, kept outside the repo (spelt split: this file cites none)

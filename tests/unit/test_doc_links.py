"""Every relative link in README.md and docs/*.md names a file of this repository (a
fresh clone has nothing beside it), and the README points to every document in docs/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target) and [text](target "title"); images too.
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)


def _relative_links(document: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", document.read_text(), flags=re.DOTALL)  # code blocks
    return [t for t in LINK.findall(text) if not EXTERNAL.match(t) and not t.startswith("#")]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve_inside_the_repository(document: Path) -> None:
    problems = []
    for target in _relative_links(document):
        path = (document.parent / target.split("#", 1)[0]).resolve()
        if not path.is_relative_to(ROOT):
            problems.append(f"{target}: outside the repository")
        elif not path.exists():
            problems.append(f"{target}: no such file")
    assert not problems, problems


def test_the_readme_points_to_every_document() -> None:
    linked = {(ROOT / t.split("#", 1)[0]).resolve() for t in _relative_links(ROOT / "README.md")}
    assert set(DOCUMENTS[1:]) <= linked, sorted(str(d) for d in set(DOCUMENTS[1:]) - linked)


def test_link_finder_sees_links() -> None:
    assert _relative_links(ROOT / "README.md")

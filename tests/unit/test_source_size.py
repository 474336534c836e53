"""Small modules with one job: a source file that outgrows this is doing several."""

from __future__ import annotations

from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2] / "src" / "appointments"
MAX_LINES = 350


def test_no_source_file_is_over_the_limit() -> None:
    sizes = {p: len(p.read_text().splitlines()) for p in SOURCE.rglob("*.py")}
    assert sizes, f"no sources found under {SOURCE}"
    too_long = {str(p.relative_to(SOURCE)): n for p, n in sizes.items() if n > MAX_LINES}
    assert not too_long, f"split these modules (over {MAX_LINES} lines): {too_long}"

"""README "Conventions: conformance" lists exactly the suite's dated differences."""

from __future__ import annotations

from pathlib import Path

from tests.conformance import differences as diff

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_lists_the_dated_differences_table():
    text = README.read_text(encoding="utf-8")
    section = text.split("## Conventions: conformance", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert "\n".join(rows) == diff.readme_table()
    assert len(rows) == len(diff.DIFFERENCES) + 2


def test_every_difference_is_dated_and_explained():
    for d in diff.DIFFERENCES:
        assert d.kind in ("attribute", "metric", "schema_url", "metric attribute", "requirement"), d
        assert len(d.since) == 7 and d.since[:4] == "2026" and d.since[4] == "-", d
        assert d.reason and d.snapshot != d.ours, d

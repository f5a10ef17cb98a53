"""docs/measured/*.md: each page names a script that exists and records its output as markdown."""

from __future__ import annotations

import datetime

from benchmarks.measured_pages import OUT, PAGES, ROOT, as_markdown, render

DOCS = ROOT / "docs"


def test_every_page_runs_a_script_of_the_checkout_and_points_to_its_explanation() -> None:
    assert len({p.name for p in PAGES}) == len(PAGES)
    for page in PAGES:
        assert page.command[0] == "python" and (ROOT / page.command[1]).is_file(), page
        assert (DOCS / page.explained_in.split("#")[0]).is_file(), page


def test_output_lines_stay_lines_and_tables_stay_tables() -> None:
    out = "photo: mosaic\nruns: 30\n\n\n### Table\n| a | b |\n|---|---|\n| 1 | 2 |\nafter\n"
    expected = "photo: mosaic\n\nruns: 30\n\n### Table\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nafter"
    assert as_markdown(out) == expected


def test_a_page_records_command_date_machine_and_output() -> None:
    page = PAGES[0]
    when = datetime.datetime(2026, 1, 2, 3, 4, tzinfo=datetime.timezone.utc)
    text = render(page, "| x | y |\n|---|---|\n| 1 | 2 |\n", when, {"cpu": "test cpu", "torch": None})
    assert text.startswith(f"# {page.title}\n")
    assert f"`{' '.join(page.command)}`" in text and "2026-01-02 03:04 UTC" in text
    assert "cpu test cpu" in text and "torch" not in text
    assert "| 1 | 2 |" in text


def test_the_pages_in_the_repository_are_the_scripts_pages() -> None:
    written = sorted(p.stem for p in OUT.glob("*.md"))
    assert written == sorted(p.name for p in PAGES)
    for page in PAGES:
        text = (OUT / f"{page.name}.md").read_text(encoding="utf-8")
        assert f"python benchmarks/measured_pages.py {page.name}" in text.splitlines()[2]

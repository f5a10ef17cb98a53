"""The figures a hand-written page quotes are the generated pages' figures.

docs/results.md is written by ``benchmarks/native_results.py`` from the
benchmark's reports, docs/measured/*.md by ``benchmarks/measured_pages.py``
from the measuring scripts. A hand-written page (README.md, docs/*.md) that
quotes a BD-rate, a percentage or an interval must quote one that
docs/results.md, or a measured page it links to, has: a rerun that changes a
figure then makes every stale copy fail here instead of drifting apart (as
the 224x224 probe-fold verdict once did: -6.3% on the results page, -7.7% in
fitting.md). History is exempt: docs/design-notes.md and CHANGELOG.md quote
figures as they were measured at the time.

What counts as a figure: a signed percentage (``-43.2%``, ``+4.6 %``), a
percentage with decimals (``9.8%``), and a bracketed interval with a sign or
decimals (``[-48.1, -40.2]``, with or without ``%``). Round unsigned
percentages (``95%`` intervals, ``90%`` confidence) are settings, and
``[0, 1]`` a range, not results.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks.native_results import (
    README_COLUMNS,
    README_END,
    README_SKIP,
    README_START,
    Job,
    readme_table,
    replace_readme_block,
)

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
#: The results page, which every hand-written page may quote.
RESULTS = DOCS / "results.md"
#: Pages the measuring scripts write; a hand-written page may quote the ones it links to.
MEASURED = DOCS / "measured"
#: History: figures as they were measured at the time.
HISTORY = (DOCS / "design-notes.md", ROOT / "CHANGELOG.md")

_NUMBER = r"[+\-\u2212]?\d+(?:\.\d+)?"
_INTERVAL = re.compile(rf"\[\s*({_NUMBER})\s*%?\s*,\s*({_NUMBER})\s*%?\s*\]")
_PERCENT = re.compile(r"(?<![\w.])([+\-\u2212]?)(\d+(?:\.\d+)?)\s?%")
#: A target ("BD-rate <= -50%") is a goal, not a measured figure.
_TARGET = re.compile(rf"(?:<=|>=|\u2264|\u2265)\s*{_NUMBER}\s?%")
#: The marker a script puts on a page it writes (docs/roi-results*.md).
GENERATED_MARK = "do not edit by hand"


def _number(text: str) -> str:
    """One spelling per number: ASCII minus, no plus sign."""
    return text.replace("\u2212", "-").lstrip("+")


def figures(text: str) -> set[str]:
    """The figures ``text`` quotes, normalised: ``[-48.1, -40.2]``, ``-43.2%``, ``9.8%``."""
    text = _TARGET.sub("", text)
    found = {f"[{_number(a)}, {_number(b)}]" for a, b in _INTERVAL.findall(text)
             if any(c in a + b for c in "+-\u2212.")}
    for sign, value in _PERCENT.findall(text):
        if sign or "." in value:
            found.add(f"{_number(sign + value)}%")
    return found


def known(text: str) -> set[str]:
    """Every figure ``text`` has, also as an unsigned magnitude ("needs 43.2% fewer bits")."""
    found = figures(text)
    return found | {f.lstrip("-") for f in found if f.endswith("%")}


def missing(page: str, generated: str) -> list[str]:
    """Figures of ``page`` that ``generated`` does not have."""
    have = known(generated)
    return sorted(f for f in figures(page) if f not in have)


def _generated(page: Path) -> bool:
    return GENERATED_MARK in page.read_text(encoding="utf-8")[:1000]


def hand_written_pages() -> list[Path]:
    pages = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    return [p for p in pages if p != RESULTS and p not in HISTORY and not _generated(p)]


def cited_pages(text: str) -> list[Path]:
    """The generated pages ``text`` may quote: the results page, the measured pages it links to,
    and the other generated pages of docs/ it links to."""
    linked = set(re.findall(r"measured/([\w-]+\.md)", text))
    others = {DOCS / name for name in re.findall(r"\(([\w-]+\.md)\)", text)}
    return [RESULTS, *(MEASURED / name for name in sorted(linked) if (MEASURED / name).is_file()),
            *sorted(p for p in others if p.is_file() and p != RESULTS and _generated(p))]


def test_a_figure_the_generated_page_lacks_is_caught() -> None:
    generated = "| enet-224 | ... | -6.3% | -0.4% |\n| x | -12.0% [-15.3%, -8.8%] |\n"
    assert missing("the held-out verdict was -7.7%", generated) == ["-7.7%"]
    assert missing("its probe folds said -6.3%, the benchmark -0.4%", generated) == []
    assert missing("saves 12.0% against 4:2:0 [-15.3, -8.8]", generated) == []
    assert missing("an interval [-15.3, -8.7]", generated) == ["[-15.3, -8.7]"]
    assert missing("95% intervals at 90% confidence", generated) == []
    assert missing("\u22120.4 %", generated) == []
    assert missing("pixels in [0, 1]", generated) == []
    assert missing("goal: BD-rate <= -50%, measured -7.7%", generated) == ["-7.7%"]


def test_a_page_may_quote_the_measured_pages_it_links_to() -> None:
    names = [p.name for p in cited_pages("see [speed](measured/speed.md) and docs/measured/interop.md")]
    assert names[0] == RESULTS.name
    assert set(names[1:]) <= {"speed.md", "interop.md"}
    assert cited_pages("no links") == [RESULTS]


@pytest.mark.parametrize("page", hand_written_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_hand_written_pages_quote_only_generated_figures(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    cited = cited_pages(text)
    stale = missing(text, "\n".join(p.read_text(encoding="utf-8") for p in cited))
    assert not stale, (
        f"{page.relative_to(ROOT)} quotes figures that {', '.join(str(p.relative_to(ROOT)) for p in cited)} "
        f"do not have: {', '.join(stale)}. Link to the generated page instead of copying, or move the "
        "sentence to docs/design-notes.md if it is history."
    )


def _table(text: str) -> dict[str, list[str]]:
    """Rows of the first markdown table in ``text``: first cell -> the other cells (header included)."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[cells[0]] = cells[1:]
        elif rows:
            break
    return rows


def test_the_readme_table_is_the_results_summary() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index(README_START) + len(README_START): readme.index(README_END)]
    results = RESULTS.read_text(encoding="utf-8")
    summary = _table(results[results.index("## Summary"):])
    header = summary.pop("job")
    ours = _table(block)
    ours.pop("model, capture")
    columns = [header.index("images"), *(header.index(f"vs {alternative}") for alternative in README_COLUMNS)]
    expected = {job: [cells[i] for i in columns] for job, cells in summary.items()}
    skipped = {job for job in expected if any(job.startswith(j) for j in _titles(README_SKIP))}
    assert ours == {job: cells for job, cells in expected.items() if job not in skipped}


def _titles(names: frozenset[str]) -> set[str]:
    from benchmarks.native_results import JOBS

    return {job.title for job in JOBS if job.name in names}


def _summary(task: str, values: dict[str, float]) -> dict:
    rows = [{"test": "grace", "reference": ref, "metric": "kl", "bd_rate": v,
             "interval_95": [v - 0.01, v + 0.01]} for ref, v in values.items()]
    return {"model": {"task": task}, "strategies": [{"curve": "grace"}], "bd_rates": rows,
            "images": [{"upscaled": False}] * 3}


def test_native_results_writes_the_readme_block_between_its_markers() -> None:
    done = [(Job("a", "Model A", ()), _summary("classification", {"jpeg-444": -0.432, "jpeg-420": -0.5})),
            (Job(next(iter(README_SKIP)), "Skipped", ()), _summary("classification", {"jpeg-444": -0.1}))]
    table = readme_table(done)
    assert "Skipped" not in table
    assert ("| Model A | 3 images (0 upscaled) | -50.0% [-51.0%, -49.0%] | -43.2% [-44.2%, -42.2%] | - | - |"
            in table.splitlines())
    readme = f"intro\n{README_START}\nold table\n{README_END}\noutro\n"
    assert replace_readme_block(readme, table) == f"intro\n{README_START}\n{table}\n{README_END}\noutro\n"
    with pytest.raises(ValueError, match="results:start"):
        replace_readme_block("no markers here", table)

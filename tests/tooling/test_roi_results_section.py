"""docs/results.md's region-of-interest section is built from the stream benchmark's JSONs:
a row per ROI curve with both BD-rates, the issue's goal verdict from the numbers, a link to
the curve's page; and the page in the repository holds the section its JSONs give."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.native_results import DOCS, page, replace_roi_section
from benchmarks.roi_page import goal_verdict
from benchmarks.roi_results import ROI_END, ROI_START, section

BPP = [0.2, 0.4, 0.8]


def curve(bpp_scale: float, new_recall: list[float]) -> dict:
    return {"quality": [10, 40, 75], "bpp": [b * bpp_scale for b in BPP], "score_drift": [1.0, 2.0, 3.0],
            "recall": [90.0, 95.0, 99.0], "new_recall": new_recall}


def yolo() -> dict:
    """YOLOv3-tiny: grace+motion meets every goal, grace+feedback1 misses score drift by a hair
    and loses new objects, jpeg-420 is no ROI curve (no row)."""
    bd = {
        "jpeg-444": {"score_drift": [0.0, 0.0, 0.0], "recall": [0.0, None, None],
                     "new_recall": [0.0, None, None]},
        "jpeg-420": {"score_drift": [-0.1, -0.2, 0.0], "recall": [0.1, None, None],
                     "new_recall": [0.1, None, None]},
        "grace": {"score_drift": [-0.3, -0.35, -0.25], "recall": [-0.3, None, None],
                  "new_recall": [-0.3, None, None]},
        "grace+motion": {"score_drift": [-0.6, -0.7, -0.5], "recall": [-0.45, -0.5, -0.42],
                         "new_recall": [-0.45, -0.5, -0.42]},
        "grace+feedback1": {"score_drift": [-0.49, -0.6, -0.4], "recall": [-0.5, None, None],
                            "new_recall": [-0.5, None, None]},
    }
    points = {"jpeg-444": curve(1.0, [80.0, 90.0, 95.0]), "jpeg-420": curve(0.9, [80.0, 90.0, 95.0]),
              "grace": curve(0.7, [80.0, 90.0, 95.0]), "grace+motion": curve(0.7, [80.0, 90.0, 95.0]),
              "grace+feedback1": curve(0.7, [75.0, 85.0, 90.0])}
    against = {c: {m: [None if c == "grace+motion" else -0.2, -0.3, -0.1] for m in bd[c]} for c in bd}
    return {
        "model": "yolov3-tiny-coco", "first": 400, "frames": 60, "step": 1, "width": 768, "height": 576,
        "metrics": ["score_drift", "recall", "new_recall"], "clean_objects": 241, "new_objects": 95,
        "summary": {"bd": bd, "points": points, "bd_against": {"grace": against},
                    "roi_share": {c: 1.0 if "+" not in c else 0.15 for c in bd}},
    }


def selfie() -> dict:
    """The segmenter, written before the intervals against GRACE were stored."""
    bd = {"jpeg-444": {"pixel_agreement": [0.0, 0.0, 0.0]}, "grace": {"pixel_agreement": [-0.3, -0.4, -0.2]},
          "grace+motion": {"pixel_agreement": [-0.8, -0.9, -0.7]}}
    pts = lambda s: {"quality": [10, 40, 75], "bpp": [b * s for b in BPP],  # noqa: E731
                     "pixel_agreement": [90.0, 95.0, 99.0]}
    return {
        "model": "selfie-seg-full", "first": 400, "frames": 40, "step": 2, "width": 768, "height": 576,
        "metrics": ["pixel_agreement"], "clean_objects": 0, "new_objects": 0,
        "summary": {"bd": bd, "points": {"jpeg-444": pts(1.0), "grace": pts(0.7), "grace+motion": pts(0.35)},
                    "roi_share": {"jpeg-444": 1.0, "grace": 1.0, "grace+motion": 0.1}},
    }


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    (tmp_path / "roi-results.json").write_text(json.dumps(yolo()))
    (tmp_path / "roi-results-selfie.json").write_text(json.dumps(selfie()))
    return tmp_path


def row(text: str, curve: str, page: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"| [{curve}]({page}) |"))


def test_rows_verdicts_and_links(docs: Path) -> None:
    text = section(docs)
    assert text.startswith(ROI_START) and text.endswith(ROI_END)
    assert "### [yolov3-tiny-coco, vtest.avi 768x576](roi-results.md)" in text
    # The YOLO table first, whatever the file names sort as.
    assert text.index("(roi-results.md)") < text.index("(roi-results-selfie.md)")
    met = row(text, "grace+motion", "roi-results.md")
    assert met.startswith("| [grace+motion](roi-results.md) | 60 (400..459); 241 objects, 95 new | 15% | ")
    assert "| -60.0% [-70.0, -50.0] | n/a |" in met  # vs JPEG 4:4:4, then the stored value vs grace
    assert met.endswith("| met: score drift -60.0% [-70.0, -50.0] (goal <= -50%), recall -45.0% "
                        "[-50.0, -42.0] (goal <= -40%), new-object shortfall +0.0 points (goal <= 2) |")
    missed = row(text, "grace+feedback1", "roi-results.md")
    assert "| -49.0% [-60.0, -40.0] | -20.0% [-30.0, -10.0] |" in missed
    assert missed.endswith("| MISSED: score drift -49.0% [-60.0, -40.0] (goal <= -50%), recall -50.0% "
                           "(goal <= -40%), new-object shortfall +5.0 points (goal <= 2) |")
    assert "Issue #19's goal for this model is met by `grace+motion`." in text
    # GRACE without ROI is the baseline row, no verdict; plain JPEG 4:2:0 is no row.
    assert row(text, "grace", "roi-results.md").endswith("| - | -30.0% | - | -30.0% | - | - |")
    assert "[jpeg-420]" not in text and "[jpeg-444]" not in text


def test_segmenter_goal_and_recomputed_baseline(docs: Path) -> None:
    text = section(docs)
    r = row(text, "grace+motion", "roi-results-selfie.md")
    assert r.startswith("| [grace+motion](roi-results-selfie.md) | 40 (400..478, every 2) | 10% | ")
    # Against grace: recomputed from the stored points (bpp halved at equal accuracy), marked.
    assert "| -80.0% [-90.0, -70.0] | -50.0% * |" in r
    # The estimate meets the goal, the interval reaches above it.
    assert r.endswith("| point only: pixel agreement -80.0% [-90.0, -70.0] (goal <= -75%) |")
    assert "roi-results-selfie.json predates the stored intervals" in text
    assert "roi-results.json predates" not in text


def test_goal_verdicts_follow_the_interval() -> None:
    assert goal_verdict((-0.6, -0.7, -0.5), -0.5) == "met"
    assert goal_verdict((-0.6, -0.7, -0.4), -0.5) == "point only"
    assert goal_verdict((-0.6, None, None), -0.5) == "point only"
    assert goal_verdict((-0.4, -0.7, -0.1), -0.5) == "MISSED"
    assert goal_verdict((None, None, None), -0.5) == "n/a"


def test_a_missing_field_names_the_file_and_the_command(tmp_path: Path) -> None:
    broken = yolo()
    del broken["summary"]
    (tmp_path / "roi-results-x.json").write_text(json.dumps(broken))
    with pytest.raises(ValueError, match=r"roi-results-x.json: no field 'summary'.*roi_stream.py"):
        section(tmp_path)


def test_the_section_is_replaced_in_place_or_inserted_before_the_reports(docs: Path) -> None:
    new = section(docs)
    text = ("# Results\n\n## Summary\n\n| a |\n\n"
            "## EfficientNet-Lite0, 1280x720 capture (5.7x its 224 input)\n\nreport\n")
    inserted = replace_roi_section(text, new)
    assert inserted.index(ROI_START) > inserted.index("| a |")
    assert inserted.index(ROI_END) < inserted.index("## EfficientNet-Lite0")
    stale = inserted.replace("-60.0%", "-1.0%")
    assert replace_roi_section(stale, new) == inserted
    with pytest.raises(ValueError, match="not both"):
        replace_roi_section(text + ROI_START, new)
    # The whole page, written from the job reports, carries the same section.
    assert new in page([], docs, docs)


def test_the_results_page_holds_the_section_of_the_stored_jsons() -> None:
    text = (DOCS / "results.md").read_text()
    start, end = text.find(ROI_START), text.find(ROI_END)
    assert 0 <= start < end, (
        "docs/results.md has no ROI section: run python benchmarks/native_results.py --roi-only")
    assert text[start : end + len(ROI_END)] == section(DOCS), (
        "docs/results.md's ROI section is stale: run python benchmarks/native_results.py --roi-only")

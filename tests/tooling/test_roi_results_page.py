"""docs/roi-results.md is written from the run: BD cells, intervals and the device-cost verdicts."""

from __future__ import annotations

from benchmarks.roi_stream import fmt_bd, page


def result(roi_ms: float) -> dict:
    return {
        "model": "m", "strategy": "s", "first": 400, "frames": 3, "step": 1, "width": 768, "height": 576,
        "qualities": [10, 50], "refresh": 30, "block": 2, "resamples": 10, "metrics": ["recall"],
        "clean_objects": 0, "new_objects": 0, "cost_quality": 50,
        "device": {"motion_ms": 1.2, "grace_encode_ms": 5.0, "roi_encode_ms": roi_ms},
        "summary": {
            "bd": {"jpeg-444": {"recall": (0.0, 0.0, 0.0)}, "grace+motion": {"recall": (-0.25, -0.4, None)}},
            "roi_share": {"jpeg-444": 1.0, "grace+motion": 0.12},
            "encode_ms": {"jpeg-444": 8.0, "grace+motion": 20.0},
            "lag1": {"recall": 0.5},
            "points": {"jpeg-444": {"quality": [10, 50], "bpp": [0.2, 0.8], "recall": [90.0, 99.0]}},
        },
    }


def test_bd_cells() -> None:
    assert fmt_bd((-0.25, -0.4, -0.1)) == "-25.0% [-40.0, -10.0]"
    assert fmt_bd((-0.25, None, None)) == "-25.0%"
    assert fmt_bd((None, None, None)) == "n/a"


def test_page_states_each_goal_from_the_measured_figures() -> None:
    text = page(result(6.0), "python benchmarks/roi_stream.py")
    assert "| grace+motion | 12% | -25.0% | 20.0 |" in text
    assert "1.20 ms per 768x576 frame (goal <= 5 ms: met)" in text
    assert "= 1.20x (goal <= 1.5x: met)" in text
    assert "goal <= 1.5x: MISSED" in page(result(9.0), "x")
    assert "Clean objects" not in text  # no detector, no object counts

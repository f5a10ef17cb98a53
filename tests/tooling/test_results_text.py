"""The results page's sentences on GRACE against jpeg-zeroed come from the numbers."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

# benchmarks.results imports the bench's job runner, which needs torch (the [bench] extra).
pytest.importorskip("torch")

from benchmarks.results import resize_only_findings
from pillow_grace.evaluate.analysis import Comparison
from pillow_grace.evaluate.bdrate import BDResult


def _comparison(metric: str, value: float | None, ci: tuple[float, float] | None, verdict: str) -> Comparison:
    result = BDResult(value, 0.1, 0.9) if value is not None else BDResult(None, None, None, "no overlap")
    return Comparison("grace", "jpeg-zeroed", metric, metric, result, ci, 1.0, verdict)


def _summary(*comparisons: Comparison, curves: tuple[str, ...] = ("grace", "jpeg-zeroed"), notes=()) -> Any:  # type: ignore[no-untyped-def]
    sweep = SimpleNamespace(model={"name": "m"}, capture={"label": "1280x720"}, notes=list(notes))
    return SimpleNamespace(sweep=sweep, curves=list(curves), comparisons=list(comparisons))


def test_no_win_says_the_gradients_add_nothing_beyond_the_resize() -> None:
    [sentence] = resize_only_findings(
        _summary(
            _comparison("top1", -0.05, (-0.2, 0.1), "within noise"),
            _comparison("kl", 0.08, (0.02, 0.15), "reference better"),
        )
    )
    assert sentence.startswith("m at 1280x720: grace does not beat `jpeg-zeroed`")
    assert "kl +8.0% [+2.0, +15.0], reference better" in sentence
    assert "its gradients add nothing beyond knowing the resize" in sentence
    [worse] = resize_only_findings(_summary(_comparison("kl", 0.08, (0.02, 0.15), "reference better")))
    assert "grace needs more bits than `jpeg-zeroed`" in worse


def test_a_win_and_a_mixed_result_say_so() -> None:
    [win] = resize_only_findings(_summary(_comparison("kl", -0.2, (-0.3, -0.1), "test better")))
    assert "grace beats `jpeg-zeroed`" in win and "add something beyond knowing the resize" in win
    [mixed] = resize_only_findings(
        _summary(
            _comparison("top1", -0.01, (-0.1, 0.1), "within noise"),
            _comparison("kl", -0.2, (-0.3, -0.1), "test better"),
        )
    )
    assert "beats `jpeg-zeroed` on kl but not on top1" in mixed
    assert "on top1 its gradients add nothing beyond knowing the resize" in mixed


def test_no_zeroed_curve_repeats_why_and_undefined_says_so() -> None:
    note = "jpeg-zeroed: not applicable: m does not shrink the 224x224 capture (factors 1 x 1)"
    [why] = resize_only_findings(_summary(curves=("grace", "jpeg-420"), notes=[note]))
    assert (
        why == "m at 1280x720: no `jpeg-zeroed` curve: m does not shrink the 224x224 capture (factors 1 x 1)."
    )
    assert resize_only_findings(_summary(curves=("grace",))) == []
    [undefined] = resize_only_findings(_summary(_comparison("kl", None, None, "undefined")))
    assert "undefined on every metric" in undefined

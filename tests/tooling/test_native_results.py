"""docs/results.md says, from each saved report, whether GRACE beats the zeroed-bins JPEG."""

from __future__ import annotations

import pytest

# benchmarks.results imports the bench's job runner, which needs torch (the [bench] extra).
pytest.importorskip("torch")

from benchmarks.native_results import Job, resize_section
from pillow_grace.evaluate.analysis import Comparison
from pillow_grace.evaluate.bdrate import BDResult


def _row(test: str, reference: str, value: float, ci: tuple[float, float], verdict: str) -> dict:
    result = BDResult(value, 1.0, 3.0)
    return Comparison(test, reference, "kl", "-log10(KL)", result, ci, 1.0, verdict).to_json()


def test_saved_reports_round_trip_into_the_same_comparisons() -> None:
    row = _row("grace", "jpeg-zeroed", -0.2, (-0.3, -0.1), "test better")
    back = Comparison.from_json(row)
    assert back.to_json() == row and back.result.defined and back.interval == (-0.3, -0.1)


def test_the_page_says_where_the_gradients_add_nothing_beyond_the_resize() -> None:
    win = {"bd_rates": [_row("grace", "jpeg-zeroed", -0.2, (-0.3, -0.1), "test better"),
                        _row("grace", "jpeg-444", -0.4, (-0.5, -0.3), "test better")], "notes": []}
    lose = {"bd_rates": [_row("grace", "jpeg-zeroed", 0.18, (0.13, 0.23), "reference better")], "notes": []}
    none = {"bd_rates": [_row("grace", "jpeg-444", -0.5, (-0.6, -0.4), "test better")],
            "notes": ["jpeg-zeroed: not applicable: the model sees the capture at full resolution"]}
    text = resize_section([(Job("a", "A", ()), win), (Job("b", "B", ()), lose), (Job("c", "C", ()), none)])
    lines = text.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("* `a`: grace beats `jpeg-zeroed` (kl -20.0% [-30.0, -10.0], test better)")
    assert "`b`: grace needs more bits than `jpeg-zeroed`" in lines[1]
    assert "its gradients add nothing beyond knowing the resize" in lines[1]
    assert lines[2] == "* `c`: no `jpeg-zeroed` curve: the model sees the capture at full resolution."

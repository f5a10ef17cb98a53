"""Validation refuses what encoding would refuse: a strategy that loads encodes.

Each case here used to validate and then fail (or overflow) later, at an
encode with some quality, or be saved back under a version that does not
have its fields (docs/strategy-format.md, "Limits" and "Versions").
"""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from PIL import Image

import pillow_grace
from pillow_grace import Strategy, StrategyError
from pillow_grace.core.strategy import (
    MAX_COEFFICIENT,
    MAX_VALUE,
    MIN_CALIBRATION_PARAMETER,
    Allocation,
    Perception,
    RateDistortion,
)

FRAME = Image.new("RGB", (24, 16), (40, 160, 90))


def _encodes_cleanly(strategy: Strategy, **options: Any) -> None:
    """Encode with every numpy warning (overflow, invalid value) as an error."""
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        pillow_grace.encode(FRAME, io.BytesIO(), strategy, **options)


# -- calibration anchors ----------------------------------------------------------------------
def test_subnormal_calibration_anchors_are_refused(make_strategy: Any) -> None:
    """From ``[[50, 1e-320], [60, 1e-300]]``, quality 1 extrapolated to a
    parameter of 0.0 and failed with "tradeoff must be ... > 0" though no
    tradeoff was given."""
    s = make_strategy("tiny")
    with pytest.raises(StrategyError, match=r"allocation.calibration\[0\]\[1\].*>= 1e-30") as caught:
        replace(s, allocation=Allocation("lagrangian", 1.0, 50, [[50, 1e-320], [60, 1e-300]]))
    assert caught.value.field == "allocation.calibration[0][1]"


@pytest.mark.parametrize("quality", [1, 30, 55, 90, 100])
def test_the_smallest_calibration_anchors_encode_at_every_quality(make_strategy: Any, quality: int) -> None:
    s = make_strategy("small")
    low = MIN_CALIBRATION_PARAMETER
    small = replace(s, allocation=Allocation("lagrangian", low, 50, [[50, low], [60, 10 * low]]))
    _encodes_cleanly(small, quality=quality)


# -- perception values at their caps ------------------------------------------------------------
def test_a_coefficient_scale_beyond_the_dct_range_is_refused(make_strategy: Any) -> None:
    p = make_strategy().perception
    huge = [[MAX_VALUE] * 64] * 3
    with pytest.raises(StrategyError, match=r"perception.coef_abs_mean\[0\]\[0\].*at most 1024") as caught:
        Perception(p.grad_abs_mean, p.grad_sq_mean, huge)
    assert caught.value.field == "perception.coef_abs_mean[0][0]"


def _at_the_caps(measured: bool) -> Perception:
    grid = (1, 2, 4, 8, 16, 32, 64, 128, 255)
    curves = [[[MAX_VALUE] * len(grid)] * 64] * 3
    rd = RateDistortion(grid, curves, curves) if measured else None
    return Perception([[MAX_VALUE] * 64] * 3, [[MAX_VALUE] * 64] * 3, [[MAX_COEFFICIENT] * 64] * 3, rd)


@pytest.mark.parametrize("method", ["lagrangian", "paper", "empirical"])
@pytest.mark.parametrize("options", [{"quality": 1}, {"quality": 50}, {"quality": 100},
                                     {"tradeoff": MAX_VALUE}, {"tradeoff": 1e-30}])
def test_perception_at_its_caps_encodes_without_overflow(
    make_strategy: Any, method: str, options: dict[str, Any]
) -> None:
    base = make_strategy("capped")
    s = replace(base, perception=_at_the_caps(method == "empirical"), allocation=Allocation(method, 1.0))
    _encodes_cleanly(s, **options)


# -- versions -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("field", "value"), [
    ("calibration", [[40, 1.0], [80, 10.0]]), ("reference_above", 90),
])
def test_a_1_0_file_with_1_1_fields_is_refused(make_strategy: Any, field: str, value: Any) -> None:
    """Such a file was accepted and saved back as "1.0", which readers of 1.0
    (which refuse unknown fields) then refuse."""
    doc = make_strategy("old").to_dict()
    del doc["content_hash"]
    doc["version"] = "1.0"
    doc["allocation"][field] = value
    with pytest.raises(StrategyError, match=r"field 'version' must be at least 1\.1") as caught:
        Strategy.from_json(json.dumps(doc))
    assert caught.value.field == "version"
    doc["version"] = "1.1"
    again = Strategy.from_json(json.dumps(doc))
    assert json.loads(again.to_json())["version"] == "1.1"

"""Format 1.1 allocation fields: ``calibration``, ``reference_above`` and method ``"reference"``.

Known answers: validation errors name the offending field, the fields survive
JSON, ``parameter_for_quality`` hits the anchors exactly and interpolates
log-linearly between them, and files above ``reference_above`` (or from a
"reference" strategy) carry libjpeg's standard tables."""

from __future__ import annotations

import io
import itertools
import json
import math
from typing import Any

import numpy as np
import pytest
from PIL import Image

import pillow_grace
from pillow_grace import Strategy, StrategyError
from pillow_grace.core import tables
from pillow_grace.core.strategy import FIT_ALLOCATIONS, Allocation
from tests.support import jpegmarkers as jm
from tests.support.strategy_docs import doc_of, set_path

# Anchors whose parameters follow each method's direction (lambda up, budget down).
LAGRANGIAN_ANCHORS = ((30, 0.01), (70, 1.0))
PAPER_ANCHORS = ((20, 0.5), (60, 0.05), (90, 0.005))


@pytest.fixture(scope="module")
def small() -> Image.Image:
    """64x48 (whole 4:2:0 MCUs), with colour and texture."""
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:48, 0:64]
    img = np.stack([4 * x, 128 + 60 * np.sin(y / 3.0), 255 - 5 * y], axis=-1).astype(np.float64)
    img += rng.normal(0, 10, img.shape)
    return Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8), "RGB")


def encoded(image: Image.Image, strategy: Strategy, **options: Any) -> bytes:
    buf = io.BytesIO()
    pillow_grace.encode(image, buf, strategy, **options)
    return buf.getvalue()


def written(data: bytes) -> tuple[list[list[int]], list[tuple[int, int, int]]]:
    """(per component: its table in natural order, per component: (h, v, table index))."""
    _sof, info = jm.frame(data)
    comps = [(h, v, tq) for _cid, h, v, tq in info["components"]]  # type: ignore[union-attr]
    with Image.open(io.BytesIO(data)) as im:
        quant = {k: list(v) for k, v in im.quantization.items()}  # natural order (Pillow un-zigzags)
    return [quant[tq] for _h, _v, tq in comps], comps


def reference(quality: int) -> list[list[int]]:
    return [list(map(int, t)) for t in tables.jpeg_reference_tables(quality)]


# -- validation ---------------------------------------------------------------------
def test_fit_allocations_exclude_reference() -> None:
    assert FIT_ALLOCATIONS == ("empirical", "lagrangian", "paper")


def test_valid_calibrations_are_kept_as_tuples() -> None:
    a = Allocation("lagrangian", 0.1, 50, [[30, 0.01], [70, 1]], 90)
    assert a.calibration == LAGRANGIAN_ANCHORS and a.reference_above == 90
    assert all(isinstance(q, int) and isinstance(p, float) for q, p in a.calibration)
    assert Allocation("paper", 0.05, 60, PAPER_ANCHORS).calibration == PAPER_ANCHORS
    # Equal neighbouring parameters are allowed (non-strict monotonicity).
    assert Allocation("lagrangian", 1.0, None, ((10, 1.0), (20, 1.0))).calibration == ((10, 1.0), (20, 1.0))
    assert Allocation("reference", 75, 75).parameter == 75.0


@pytest.mark.parametrize(
    ("method", "calibration", "field", "words"),
    [
        ("lagrangian", [[30, 0.01]], r"allocation\.calibration", "2..100"),
        ("lagrangian", [[q, 1.0] for q in range(1, 102)], r"allocation\.calibration", "2..100"),
        ("lagrangian", "30,0.01", r"allocation\.calibration", "pairs"),
        ("lagrangian", [[30, 0.01], [30, 1.0]], r"allocation\.calibration\[1\]\[0\]", "increase strictly"),
        ("lagrangian", [[30, 0.01], [20, 1.0]], r"allocation\.calibration\[1\]\[0\]", "increase strictly"),
        ("lagrangian", [[30, 0.01], [70, 1.0], [80, 0.5]], r"allocation\.calibration\[2\]\[1\]",
         "must increase"),
        ("paper", [[20, 0.5], [60, 0.6]], r"allocation\.calibration\[1\]\[1\]", "must decrease"),
        ("lagrangian", [[0, 0.01], [70, 1.0]], r"allocation\.calibration\[0\]\[0\]", "1..100"),
        ("lagrangian", [[30, 0.01], [101, 1.0]], r"allocation\.calibration\[1\]\[0\]", "1..100"),
        ("lagrangian", [[30.5, 0.01], [70, 1.0]], r"allocation\.calibration\[0\]\[0\]", "integer"),
        ("lagrangian", [[30, 0.0], [70, 1.0]], r"allocation\.calibration\[0\]\[1\]", ">= 1e-30"),
        ("lagrangian", [[30, -1.0], [70, 1.0]], r"allocation\.calibration\[0\]\[1\]", ">= 1e-30"),
        ("lagrangian", [[30, 0.01], [70, math.inf]], r"allocation\.calibration\[1\]\[1\]", "finite"),
        ("lagrangian", [[30, 0.01], [70, "1"]], r"allocation\.calibration\[1\]\[1\]", "number"),
        ("lagrangian", [[30, 0.01, 5], [70, 1.0]], r"allocation\.calibration\[0\]", "2 numbers"),
    ],
)
def test_bad_calibration_names_the_field(method: str, calibration: Any, field: str, words: str) -> None:
    with pytest.raises(StrategyError, match=field) as e:
        Allocation(method, 0.1, None, calibration)
    assert words in str(e.value)


def test_reference_method_rules() -> None:
    with pytest.raises(StrategyError, match=r"allocation\.calibration.*absent"):
        Allocation("reference", 50, 50, LAGRANGIAN_ANCHORS)
    for bad in (0.5, 101, 250.0):
        with pytest.raises(StrategyError, match=r"allocation\.parameter.*1\.\.100"):
            Allocation("reference", bad)
    # reference_above is allowed with any method.
    assert Allocation("reference", 50, 50, None, 90).reference_above == 90


@pytest.mark.parametrize("bad", [0, 100, -3, 50.5, "80", True])
def test_bad_reference_above_names_the_field(bad: Any) -> None:
    with pytest.raises(StrategyError, match=r"allocation\.reference_above"):
        Allocation("lagrangian", 0.1, 50, None, bad)


def test_fields_round_trip_through_json(make_strategy: Any) -> None:
    for alloc in (
        Allocation("lagrangian", 0.1, 50, LAGRANGIAN_ANCHORS, 85),
        Allocation("paper", 0.05, 60, PAPER_ANCHORS),
        Allocation("lagrangian", 0.1, 50, None, 1),
        Allocation("reference", 40, 40),
    ):
        s = make_strategy(allocation=alloc, tables="ones")
        text = s.to_json()
        back = Strategy.from_json(text)
        assert back.allocation == alloc and back.content_hash == s.content_hash
        doc = json.loads(text)["allocation"]
        assert ("calibration" in doc) == (alloc.calibration is not None)
        assert ("reference_above" in doc) == (alloc.reference_above is not None)
        if alloc.calibration is not None:
            assert doc["calibration"] == [list(p) for p in alloc.calibration]


# -- the JSON Schema ------------------------------------------------------------------
@pytest.fixture(scope="module")
def validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    from pillow_grace.schema import strategy_schema

    return jsonschema.Draft202012Validator(strategy_schema())


def test_schema_accepts_valid_format_1_1_allocations(validator: Any, make_strategy: Any) -> None:
    for alloc in (
        Allocation("lagrangian", 0.1, 50, LAGRANGIAN_ANCHORS, 85),
        Allocation("paper", 0.05, 60, PAPER_ANCHORS, 99),
        Allocation("reference", 40, 40, None, 1),
    ):
        doc = json.loads(make_strategy(allocation=alloc, tables="ones").to_json())
        validator.validate(doc)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("allocation.calibration", [[30, 0.01]]),
        ("allocation.calibration", [[30, 0.01, 1], [70, 1.0]]),
        ("allocation.calibration[0][0]", 0),
        ("allocation.calibration[0][0]", 30.5),
        ("allocation.calibration[0][1]", 0),
        ("allocation.calibration[1]", "70"),
        ("allocation.reference_above", 100),
        ("allocation.reference_above", 0),
        ("allocation.reference_above", "90"),
        ("allocation.method", "jpeg"),
    ],
)
def test_schema_and_python_reject_malformed_fields(validator: Any, make_strategy: Any, path: str,
                                                   value: Any) -> None:
    s = make_strategy(allocation=Allocation("lagrangian", 0.1, 50, LAGRANGIAN_ANCHORS, 85), tables="ones")
    bad = set_path(doc_of(s), path, value)
    assert not validator.is_valid(bad), f"schema accepts {path}={value!r}"
    with pytest.raises(StrategyError):
        Strategy.from_dict(bad)


@pytest.mark.parametrize(
    ("path", "value"),
    [("allocation.calibration", [[30, 1.0], [70, 2.0]]), ("allocation.parameter", 500),
     ("allocation.parameter", 0.5)],
)
def test_schema_and_python_reject_what_method_reference_forbids(validator: Any, make_strategy: Any,
                                                                path: str, value: Any) -> None:
    s = make_strategy(allocation=Allocation("reference", 50, 50), tables="ones")
    bad = set_path(doc_of(s), path, value)
    assert not validator.is_valid(bad), f"schema accepts {path}={value!r} for method reference"
    with pytest.raises(StrategyError, match=path.replace(".", r"\.")):
        Strategy.from_dict(bad)
    # The same values are fine for a fitted method.
    ok = set_path(set_path(doc_of(s), "allocation.method", "lagrangian"), path, value)
    assert validator.is_valid(ok)
    Strategy.from_dict(ok)


@pytest.mark.parametrize(
    ("what", "path", "value"),
    [
        ("qualities not increasing", "allocation.calibration", [[70, 0.01], [30, 1.0]]),
        ("qualities repeated", "allocation.calibration", [[30, 0.01], [30, 1.0]]),
        ("lambda decreasing", "allocation.calibration", [[30, 1.0], [70, 0.01]]),
    ],
)
def test_order_checks_are_python_only(validator: Any, make_strategy: Any, what: str, path: str,
                                      value: Any) -> None:
    """Ordering across array items is beyond JSON Schema: the schema accepts these, Python does not."""
    s = make_strategy(allocation=Allocation("lagrangian", 0.1, 50, LAGRANGIAN_ANCHORS), tables="ones")
    bad = set_path(doc_of(s), path, value)
    assert validator.is_valid(bad), what
    with pytest.raises(StrategyError, match=r"allocation\.calibration\[1\]"):
        Strategy.from_dict(bad)


# -- parameter_for_quality -----------------------------------------------------------
def test_anchors_are_hit_exactly(strategy: Strategy) -> None:
    p = strategy.perception
    assert p is not None
    for method, anchors in (("lagrangian", LAGRANGIAN_ANCHORS), ("paper", PAPER_ANCHORS)):
        alloc = Allocation(method, anchors[0][1], None, anchors)
        for q, param in anchors:
            assert tables.parameter_for_quality(alloc, p, q) == pytest.approx(param, rel=1e-12)


def test_between_anchors_log_parameter_is_linear_in_quality(strategy: Strategy) -> None:
    p = strategy.perception
    assert p is not None
    lag = Allocation("lagrangian", 0.1, None, LAGRANGIAN_ANCHORS)
    # (30, 0.01) .. (70, 1.0): halfway is the geometric mean 0.1; a quarter of the way 0.01 ** 0.75.
    assert tables.parameter_for_quality(lag, p, 50) == pytest.approx(0.1, rel=1e-12)
    assert tables.parameter_for_quality(lag, p, 40) == pytest.approx(0.01**0.75, rel=1e-12)
    paper = Allocation("paper", 0.5, None, PAPER_ANCHORS)
    # (60, 0.05) .. (90, 0.005), at 70: 0.05 * 0.1 ** (1/3).
    assert tables.parameter_for_quality(paper, p, 70) == pytest.approx(0.05 * 0.1 ** (1 / 3), rel=1e-12)


def test_outside_anchors_the_predicted_mapping_is_scaled_to_meet_them(strategy: Strategy) -> None:
    p = strategy.perception
    assert p is not None
    lo_q, lo_p = LAGRANGIAN_ANCHORS[0]
    hi_q, hi_p = LAGRANGIAN_ANCHORS[-1]
    alloc = Allocation("lagrangian", 0.1, None, LAGRANGIAN_ANCHORS)
    below = lo_p / tables.quality_to_parameter("lagrangian", lo_q, p)
    above = hi_p / tables.quality_to_parameter("lagrangian", hi_q, p)
    assert below != pytest.approx(above)  # the two sides really use different constants
    for q in (1, 10, 29):
        got = tables.parameter_for_quality(alloc, p, q)
        assert got == pytest.approx(below * tables.quality_to_parameter("lagrangian", q, p), rel=1e-9)
    for q in (71, 90, 100):
        got = tables.parameter_for_quality(alloc, p, q)
        assert got == pytest.approx(above * tables.quality_to_parameter("lagrangian", q, p), rel=1e-9)


def test_without_calibration_it_is_the_predicted_mapping(strategy: Strategy) -> None:
    p = strategy.perception
    assert p is not None
    for q in (5, 50, 95):
        assert tables.parameter_for_quality(Allocation("lagrangian", 1.0), p, q) == \
            tables.quality_to_parameter("lagrangian", q, p)


@pytest.mark.slow
def test_parameter_is_monotone_over_every_quality(strategy: Strategy) -> None:
    p = strategy.perception
    assert p is not None
    # Anchors that bend the predicted curve (x0.5 at 30, x1 at 50, x3 at 80).
    anchors = tuple((q, k * tables.quality_to_parameter("lagrangian", q, p))
                    for q, k in ((30, 0.5), (50, 1.0), (80, 3.0)))
    alloc = Allocation("lagrangian", anchors[1][1], 50, anchors)
    params = [tables.parameter_for_quality(alloc, p, q) for q in range(1, 101)]
    assert all(b >= a for a, b in itertools.pairwise(params))
    assert params[-1] > params[0]
    steps = [sum(map(sum, tables.derive_tables(p, "lagrangian", x))) for x in params[::9]]
    assert all(b <= a for a, b in itertools.pairwise(steps))  # a higher quality never gives larger steps


def test_reference_applies_only_above_the_limit() -> None:
    alloc = Allocation("lagrangian", 0.1, 50, None, 80)
    assert [tables.reference_applies(alloc, q) for q in (None, 1, 80, 81, 100)] == \
        [False, False, False, True, True]
    assert not tables.reference_applies(Allocation("lagrangian", 0.1), 100)
    assert not tables.reference_applies(None, 100)


def test_derive_tables_reference_is_libjpeg() -> None:
    for q in (1, 25, 50, 75, 100):
        assert [list(t) for t in tables.derive_tables(None, "reference", q)] == reference(q)
    # Known values (ITU-T T.81 Annex K tables, libjpeg scaling): quality 50 is the table itself.
    assert tables.derive_tables(None, "reference", 50)[0][:3] == (16, 11, 10)
    assert tables.derive_tables(None, "reference", 50)[1][:3] == (17, 18, 24)
    assert set(tables.derive_tables(None, "reference", 100)[0]) == {1}


# -- encoding ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def capped(make_strategy: Any) -> Strategy:
    """A 4:2:0 Lagrangian strategy written as JPEG 4:4:4 above quality 80."""
    p = make_strategy().perception  # the shared synthetic perception model
    lam = tables.quality_to_parameter("lagrangian", 50, p)
    return make_strategy("capped", subsampling="4:2:0",
                         allocation=Allocation("lagrangian", lam, 50, None, 80))


def test_above_reference_above_files_are_standard_jpeg_444(small: Image.Image, capped: Strategy) -> None:
    for q in (81, 90, 100):
        got, comps = written(encoded(small, capped, quality=q))
        ref = reference(q)
        assert got == [ref[0], ref[1], ref[2]], q
        assert [(h, v) for h, v, _ in comps] == [(1, 1)] * 3, q
        with Image.open(io.BytesIO(encoded(small, capped, quality=q))) as im:
            assert im.size == small.size


def test_at_and_below_reference_above_the_strategy_derives(small: Image.Image, capped: Strategy) -> None:
    p = capped.perception
    assert p is not None
    for q in (20, 50, 80):
        got, comps = written(encoded(small, capped, quality=q))
        expect = tables.derive_tables(p, "lagrangian", tables.quality_to_parameter("lagrangian", q, p))
        assert got == [list(t) for t in expect], q
        assert got != reference(q)
        assert [(h, v) for h, v, _ in comps] == [(2, 2), (1, 1), (1, 1)], q  # the strategy's 4:2:0


def test_reference_above_honours_an_asked_subsampling(small: Image.Image, capped: Strategy) -> None:
    got, comps = written(encoded(small, capped, quality=95, subsampling="4:2:0"))
    assert got == reference(95)
    assert [(h, v) for h, v, _ in comps] == [(2, 2), (1, 1), (1, 1)]


def test_tradeoff_ignores_reference_above(small: Image.Image, capped: Strategy) -> None:
    p = capped.perception
    assert p is not None
    lam = tables.quality_to_parameter("lagrangian", 95, p)
    got, comps = written(encoded(small, capped, tradeoff=lam))
    assert got == [list(t) for t in tables.derive_tables(p, "lagrangian", lam)]
    assert comps[0][:2] == (2, 2)


def test_calibrated_strategy_encodes_with_the_interpolated_parameter(small: Image.Image,
                                                                    make_strategy: Any) -> None:
    p = make_strategy().perception
    anchors = tuple((q, k * tables.quality_to_parameter("lagrangian", q, p))
                    for q, k in ((30, 0.2), (70, 5.0)))
    s = make_strategy("calibrated", allocation=Allocation("lagrangian", anchors[0][1], 30, anchors))
    lam = math.sqrt(anchors[0][1] * anchors[1][1])  # quality 50: halfway in log
    got, _ = written(encoded(small, s, quality=50))
    assert got == [list(t) for t in tables.derive_tables(p, "lagrangian", lam)]
    uncalibrated = tables.derive_tables(p, "lagrangian", tables.quality_to_parameter("lagrangian", 50, p))
    assert got != [list(t) for t in uncalibrated]


def test_reference_strategy_writes_standard_tables_at_every_quality(small: Image.Image,
                                                                    make_strategy: Any) -> None:
    s = make_strategy("ref", allocation=Allocation("reference", 75, 75), weights=(0.299, 0.587, 0.114),
                      tables=tables.derive_tables(None, "reference", 75), subsampling="4:2:0")
    got, _ = written(encoded(small, s))
    assert got == reference(75)
    for q in (1, 10, 50, 90, 100):
        got, comps = written(encoded(small, s, quality=q))
        assert got == reference(q), q
        assert comps[0][:2] == (2, 2)  # no reference_above: its own subsampling

"""The measured selection (pillow_grace.fit.select) and its use by fit_strategy, on known answers.

* probe algebra: merged per-fold probes equal one probe of all images; a
  4:2:0 probe viewed as 4:4:4 equals a 4:4:4 probe;
* calibration, bits-at-loss and the JPEG threshold on hand-made curves whose
  answers follow from the construction;
* end to end on tiny models whose perception is known: a BT.601 luma-only
  model, a model with no usable gradient (must fall back to JPEG), and
  models blind to most AC frequencies (GRACE must beat JPEG)."""

from __future__ import annotations

import io
import itertools
import math

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")
from grace_fit_models import BlockDC, LowPass, Luma, head, images  # noqa: E402
from torch import nn  # noqa: E402

import pillow_grace  # noqa: E402
from pillow_grace import Strategy  # noqa: E402
from pillow_grace.core import tables  # noqa: E402
from pillow_grace.core.colour import BT601  # noqa: E402
from pillow_grace.core.options import PIL_SUBSAMPLING  # noqa: E402
from pillow_grace.evaluate.codecs import read_rgb  # noqa: E402
from pillow_grace.evaluate.judge import kl_distance  # noqa: E402
from pillow_grace.fit import fit_strategy  # noqa: E402
from pillow_grace.fit.calibration import (  # noqa: E402
    Curve,
    allocation_for,
    bits_at_loss,
    calibrate,
    calibration_anchors,
    loss_at_bits,
    reference_threshold,
)
from pillow_grace.fit.planes import perception_for  # noqa: E402
from pillow_grace.fit.probe import as_subsampling, merge_probes, probe_rgb  # noqa: E402
from pillow_grace.fit.select import (  # noqa: E402
    COLOUR_STEPS,
    VALIDATION_QUALITIES,
    bd_against,
    colour_candidates,
    merge_curves,
    verdict,
)

pytestmark = pytest.mark.slow  # fits and validates models end to end (the quick run skips it)


def close(a: np.ndarray, b: np.ndarray, rel: float = 1e-9) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return bool(np.all(np.abs(a - b) <= rel * np.max(np.abs(b)) + 1e-300))


class Staircase(nn.Module):
    """Sees the image through a 7-level staircase: its gradient is zero almost
    everywhere, so the perception model knows nothing, yet compression moves
    its output. The fitter's tables cannot help it: it must fall back to JPEG."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.net = head(3, 10, seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((torch.round(x * 6) / 6 - 0.5) / 0.25)


# -- probe algebra ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def probe_images() -> list[np.ndarray]:
    return images(4, (48, 32), seed=31)  # multiples of 16: no 4:2:0 padding differences


@pytest.mark.parametrize("subsampling", ["4:4:4", "4:2:0"])
def test_merged_fold_probes_equal_one_probe_of_all_images(probe_images: list[np.ndarray],
                                                          subsampling: str) -> None:
    model = LowPass(cut=3, seed=2)
    opts = {"loss": "argmax", "subsampling": subsampling, "batch_size": 1}
    whole = probe_rgb(model, probe_images, **opts)
    folds = [probe_rgb(model, probe_images[k::3], **opts) for k in range(3)]  # 2 + 1 + 1 images
    merged = merge_probes(folds)
    assert merged.luma_blocks == whole.luma_blocks and merged.chroma_blocks == whole.chroma_blocks
    for name in ("moment_luma", "moment_chroma", "grad_abs_rgb"):
        assert close(getattr(merged, name), getattr(whole, name)), name
    assert len(merged.images) == 4 and merged.stored_luma.shape == whole.stored_luma.shape
    assert merged.stored_chroma.shape == whole.stored_chroma.shape
    # An unweighted mean of the folds would differ (the folds hold 2, 1 and 1 images).
    naive = sum(f.moment_luma for f in folds) / 3
    assert not close(naive, whole.moment_luma, rel=1e-6)
    # And the statistics the fitter uses from it agree too.
    a = perception_for(merged, BT601, subsampling)
    b = perception_for(whole, BT601, subsampling)
    for name in ("grad_sq_mean", "grad_abs_mean", "coef_abs_mean"):
        assert close(getattr(a, name), getattr(b, name), rel=1e-6), name


def test_merge_probes_refuses_mixed_geometry(probe_images: list[np.ndarray]) -> None:
    model = LowPass(cut=3, seed=2)
    a = probe_rgb(model, probe_images[:1], loss="argmax", subsampling="4:4:4")
    b = probe_rgb(model, probe_images[1:2], loss="argmax", subsampling="4:2:0")
    with pytest.raises(ValueError, match="different subsamplings"):
        merge_probes([a, b])
    with pytest.raises(ValueError):
        merge_probes([])


def test_a_420_probe_viewed_as_444_equals_a_444_probe(probe_images: list[np.ndarray]) -> None:
    model = Luma((0.2, 0.5, 0.3), seed=4)
    p420 = probe_rgb(model, probe_images, loss="argmax", subsampling="4:2:0", batch_size=1)
    p444 = probe_rgb(model, probe_images, loss="argmax", subsampling="4:4:4", batch_size=1)
    view = as_subsampling(p420, "4:4:4")
    assert view.subsampling == "4:4:4" and view.chroma_blocks == p444.chroma_blocks
    for name in ("moment_luma", "moment_chroma", "grad_abs_rgb"):
        assert close(getattr(view, name), getattr(p444, name)), name
    assert view.stored_chroma.shape == p444.stored_chroma.shape
    assert close(view.stored_chroma, p444.stored_chroma, rel=1e-6)
    # 4:2:0 chroma really is a different geometry (a quarter of the blocks).
    assert p420.chroma_blocks * 4 == p444.chroma_blocks
    a, b = perception_for(view, (0.2, 0.5, 0.3), "4:4:4"), perception_for(p444, (0.2, 0.5, 0.3), "4:4:4")
    for name in ("grad_sq_mean", "grad_abs_mean", "coef_abs_mean"):
        assert close(getattr(a, name), getattr(b, name), rel=1e-6), name
    assert as_subsampling(p420, "4:2:0") is p420
    with pytest.raises(ValueError, match="cannot serve"):
        as_subsampling(p444, "4:2:0")


# -- curves with known answers ---------------------------------------------------------------
QS = list(VALIDATION_QUALITIES)
RATE = 0.05  # log-loss falls by RATE per quality point on the hand-made curves


def jpeg_like(label: str = "jpeg-444", shift: float = 0.0, bits_scale: float = 1.0) -> Curve:
    """loss = exp(-RATE (q + shift)), bits = 1000 / sqrt(loss at q, unshifted) * bits_scale."""
    loss = [math.exp(-RATE * (q + shift)) for q in QS]
    bits = [bits_scale * 1000.0 / math.sqrt(math.exp(-RATE * q)) for q in QS]
    return Curve(label, list(QS), bits, loss, images=3)


def test_identical_curve_calibrates_to_the_anchor_qualities() -> None:
    jpeg = jpeg_like()
    got = calibrate(jpeg_like("cand"), jpeg)
    assert [a for a, _ in got] == QS
    assert [e for _, e in got] == pytest.approx([float(q) for q in QS], abs=1e-9)


def test_a_candidate_ten_qualities_ahead_calibrates_ten_lower() -> None:
    # Its loss at q is JPEG's at q + 10: JPEG's quality Q is matched at Q - 10, except at the
    # bottom, which is not extrapolated below the lowest measured quality (30 stays 30).
    got = calibrate(jpeg_like("cand", shift=10.0), jpeg_like())
    assert [e for _, e in got] == pytest.approx([max(30.0, q - 10.0) for q in QS], abs=1e-9)
    # Ten behind: ten higher, capped at 100.
    got = calibrate(jpeg_like("cand", shift=-10.0), jpeg_like())
    assert [e for _, e in got] == pytest.approx([min(100.0, q + 10.0) for q in QS], abs=1e-9)


def test_calibration_is_monotone_even_for_a_bumpy_candidate() -> None:
    cand = jpeg_like("cand")
    cand.loss[2] = cand.loss[0] * 2  # worse at 70 than at 30: the bump is ignored
    got = calibrate(cand, jpeg_like())
    effective = [e for _, e in got]
    assert all(b >= a for a, b in itertools.pairwise(effective))
    assert all(1.0 <= e <= 100.0 for e in effective)
    assert effective[-1] == pytest.approx(100.0)


def test_bits_at_loss_on_a_power_law_is_exact() -> None:
    curve = jpeg_like()  # bits = 1000 loss^-1/2: a straight line in log-log
    for loss in (math.exp(-RATE * 40), math.exp(-RATE * 77.5), math.exp(-RATE * 99)):
        assert bits_at_loss(curve, loss) == pytest.approx(1000.0 / math.sqrt(loss), rel=1e-9)
    assert bits_at_loss(curve, curve.loss[3]) == pytest.approx(curve.bits[3], rel=1e-12)
    # Beyond its lowest loss the curve cannot get there; above its highest, its cheapest point does.
    assert bits_at_loss(curve, curve.loss[-1] * 0.5) == math.inf
    assert bits_at_loss(curve, curve.loss[0] * 10) == pytest.approx(curve.bits[0])


def test_reference_threshold_known_answers() -> None:
    jpeg = jpeg_like()
    # Half the bits everywhere: wins everywhere, no threshold.
    assert reference_threshold(jpeg_like("cand", bits_scale=0.5), jpeg) is None
    # 1% dearer everywhere: never cheaper, so JPEG from quality 1 on.
    assert reference_threshold(jpeg_like("cand", bits_scale=1.01), jpeg) == 1
    # Half the bits but its loss floors at JPEG's loss at 85: JPEG above 85.
    cand = jpeg_like("cand", bits_scale=0.5)
    cand.loss = [min(v, jpeg.loss[3]) if i < 3 else jpeg.loss[3] for i, v in enumerate(cand.loss)]
    assert reference_threshold(cand, jpeg) == 85
    # Losing only at 100: JPEG above 95.
    cand = jpeg_like("cand", bits_scale=0.5)
    cand.bits[-1] = jpeg.bits[-1] * 2
    assert reference_threshold(cand, jpeg) == 95


def test_merge_curves_adds_bits_and_weights_loss_by_images() -> None:
    a = Curve("x", [30, 50], [100.0, 200.0], [0.4, 0.2], images=1)
    b = Curve("x", [30, 50], [300.0, 600.0], [0.1, 0.05], images=3)
    m = merge_curves("x", [a, b])
    assert m.qualities == [30, 50] and m.images == 4
    assert m.bits == pytest.approx([400.0, 800.0])
    assert m.loss == pytest.approx([(0.4 + 3 * 0.1) / 4, (0.2 + 3 * 0.05) / 4])


def test_verdict_is_against_the_better_jpeg() -> None:
    j444, j420 = jpeg_like(), jpeg_like("jpeg-420", bits_scale=0.8)
    cand = jpeg_like("cand", bits_scale=0.5)
    assert bd_against(j444, cand) == pytest.approx(-0.5, abs=1e-6)
    assert bd_against(j420, cand) == pytest.approx(-0.375, abs=1e-6)
    assert verdict([j444, j420], cand) == pytest.approx(-0.375, abs=1e-6)
    # A curve with no overlap in loss has no BD-rate: the verdict is +inf (never chosen).
    far = jpeg_like("far", shift=1000.0)
    assert verdict([j444, j420], far) == math.inf


def test_calibration_anchors_map_effective_qualities_to_parameters(strategy: Strategy) -> None:
    p = strategy.perception
    assert p is not None
    qtp = tables.quality_to_parameter
    got = calibration_anchors([(30, 30.0), (50, 40.5), (70, 70.0)], "lagrangian", p)
    assert [a for a, _ in got] == [30, 50, 70]
    assert got[0][1] == pytest.approx(qtp("lagrangian", 30, p), rel=1e-12)
    assert got[1][1] == pytest.approx(math.sqrt(qtp("lagrangian", 40, p) * qtp("lagrangian", 41, p)),
                                      rel=1e-12)
    assert got[2][1] == pytest.approx(qtp("lagrangian", 70, p), rel=1e-12)
    # Out-of-order effective qualities are clamped into the method's direction.
    got = calibration_anchors([(30, 60.0), (50, 40.0)], "lagrangian", p)
    assert got[1][1] == got[0][1]
    got = calibration_anchors([(30, 60.0), (50, 40.0)], "paper", p)
    assert got[1][1] == got[0][1]


def test_allocation_for_uses_the_calibration(strategy: Strategy) -> None:
    p = strategy.perception
    assert p is not None
    anchors = ((30, 0.5 * tables.quality_to_parameter("lagrangian", 30, p)),
               (70, 2.0 * tables.quality_to_parameter("lagrangian", 70, p)))
    a = allocation_for("lagrangian", 50, p, anchors, 90)
    assert a.calibration == anchors and a.reference_above == 90 and a.quality == 50
    assert a.parameter == pytest.approx(math.sqrt(anchors[0][1] * anchors[1][1]), rel=1e-12)
    single = allocation_for("lagrangian", 50, p, anchors[:1])
    assert single.calibration is None
    assert single.parameter == tables.quality_to_parameter("lagrangian", 50, p)


# -- colour candidates -------------------------------------------------------------------------
def test_bt601_fit_collapses_to_one_candidate() -> None:
    assert colour_candidates(BT601) == [("theorem2", BT601)]
    assert len(colour_candidates((0.2995, 0.5866, 0.1139))) == 1  # within 1e-3 of BT.601


def test_candidates_run_from_theorem2_to_bt601() -> None:
    fitted = (0.1, 0.3, 0.6)
    got = colour_candidates(fitted)
    assert len(got) == len(COLOUR_STEPS)
    assert got[0] == ("theorem2", fitted)
    assert got[-1] == ("bt601", BT601)
    for (_label, w), t in zip(got, COLOUR_STEPS, strict=True):
        assert sum(w) == pytest.approx(1.0, abs=1e-6)
        assert w[0] == pytest.approx((1 - t) * fitted[0] + t * BT601[0], abs=1e-6)
        assert w[2] == pytest.approx((1 - t) * fitted[2] + t * BT601[2], abs=1e-6)
    assert len({label for label, _ in got}) == len(got)


# -- end to end -----------------------------------------------------------------------------------
def test_bt601_luma_model_keeps_bt601_and_measures_both_subsamplings() -> None:
    s = fit_strategy(Luma((0.299, 0.587, 0.114), seed=1), images(3, (64, 48), seed=40), name="luma601",
                     weights=None)
    assert s.weights == pytest.approx(BT601, abs=1e-3)
    search = s.provenance["colour_search"]
    assert search is not None and set(search["log_bytes"]) == {"4:4:4", "4:2:0"}
    assert all(len(v) == 1 for v in search["log_bytes"].values())  # one colour candidate: BT.601
    sel = s.provenance["selection"]
    verdicts = sel["verdict_vs_better_jpeg"]
    # One colour x both subsamplings x both measured allocations, each with its own curve.
    kinds = {tuple(k.split("-")[-2:]) for k in verdicts}
    expected = {(sub, m) for sub in ("4:4:4", "4:2:0") for m in ("empirical", "lagrangian")}
    assert len(verdicts) == 4 and kinds == expected
    assert set(sel["curves"]) == {"jpeg-444", "jpeg-420", *verdicts}
    assert all(len(c["bits"]) == len(VALIDATION_QUALITIES) for c in sel["curves"].values())
    v444 = next(v for k, v in verdicts.items() if k.endswith("4:4:4-lagrangian"))
    v420 = next(v for k, v in verdicts.items() if k.endswith("4:2:0-lagrangian"))
    # The model cannot see chroma: halving its resolution must not cost much.
    assert v420 is not None and (v444 is None or v420 <= v444 + 0.05)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_model_without_usable_gradients_falls_back_to_jpeg(seed: int) -> None:
    frames = images(3, (64, 48), seed=50 + seed)
    s = fit_strategy(Staircase(seed), frames, name="stairs", seed=seed)
    assert s.allocation is not None and s.allocation.method == "reference"
    assert s.allocation.calibration is None and s.allocation.reference_above is None
    assert s.weights == BT601
    sel = s.provenance["selection"]
    assert sel["chosen"].startswith("fallback")
    assert sel["chosen"].endswith(s.subsampling)
    assert all(v is None or v >= 0 for v in sel["verdict_vs_better_jpeg"].values())
    ref = [list(map(int, t)) for t in tables.jpeg_reference_tables(tables.DEFAULT_QUALITY)]
    assert [list(t) for t in s.tables] == ref
    for q in (20, 75, 95):  # the fallback writes exactly standard JPEG at each quality
        buf, plain = io.BytesIO(), io.BytesIO()
        pillow_grace.encode(Image.fromarray(frames[0]), buf, s, quality=q)
        Image.fromarray(frames[0]).save(plain, "JPEG", quality=q, subsampling=PIL_SUBSAMPLING[s.subsampling],
                                        optimize=True)
        assert buf.getvalue() == plain.getvalue(), q


def test_without_validation_there_is_no_calibration() -> None:
    s = fit_strategy(LowPass(cut=2), images(3, (64, 48), seed=60), name="quick", validate=False,
                     subsampling="4:4:4", weights="theorem2")
    assert s.allocation is not None and s.allocation.method == "empirical"
    assert s.allocation.calibration is None and s.allocation.reference_above is None
    assert s.provenance["selection"] == "not validated"
    assert s.provenance["colour_search"] is None  # theorem2: no search
    assert s.subsampling == "4:4:4"


@pytest.fixture(scope="module")
def blind_frames() -> list[np.ndarray]:
    # Not smaller: on 64x64 frames a file is 1-2 KB and the 69 bytes of a third DQT
    # table (GRACE's U and V tables differ, JPEG's are one) decide the verdict. The
    # quality-scale check below is tight (lowpass2 reaches 1.31x at 128x96 and 160x120):
    # the calibration holds on average, not at every quality (docs/fitting.md).
    return images(8, (128, 128))


@pytest.mark.parametrize("model", [LowPass(cut=2), BlockDC()], ids=["lowpass2", "blockdc"])
def test_grace_beats_jpeg_for_a_model_blind_to_most_ac(model: nn.Module,
                                                       blind_frames: list[np.ndarray]) -> None:
    s = fit_strategy(model, blind_frames, name="blind")
    sel = s.provenance["selection"]
    assert not sel["chosen"].startswith("fallback")
    assert sel["verdict_vs_better_jpeg"][sel["chosen"]] < 0
    alloc = s.allocation
    assert alloc is not None and alloc.method in ("empirical", "lagrangian") and alloc.calibration is not None
    assert sel["chosen"].endswith(alloc.method)
    params = [p for _, p in alloc.calibration]
    assert all(b >= a for a, b in itertools.pairwise(params))
    assert [q for q, _ in alloc.calibration] == sorted({q for q, _ in alloc.calibration})

    grace_bytes, jpeg_bytes, grace_loss, jpeg_loss = 0, 0, [], []
    with torch.no_grad():
        for f in blind_frames:
            clean = model(torch.from_numpy(f).permute(2, 0, 1)[None].float() / 255)
            g, j = io.BytesIO(), io.BytesIO()
            pillow_grace.encode(Image.fromarray(f), g, s, quality=50)
            Image.fromarray(f).save(j, "JPEG", quality=50, subsampling=0)
            grace_bytes += len(g.getvalue())
            jpeg_bytes += len(j.getvalue())
            for data, out in ((g, grace_loss), (j, jpeg_loss)):
                x = torch.from_numpy(np.asarray(read_rgb(data.getvalue())).copy()).permute(2, 0, 1)[None]
                out.append(kl_distance(clean, model(x.float() / 255)))
    assert grace_bytes < jpeg_bytes
    assert np.mean(grace_loss) <= 1.25 * np.mean(jpeg_loss)


def test_a_flat_or_noisy_jpeg_curve_cannot_judge_and_a_falling_one_can() -> None:
    from pillow_grace.fit.calibration import Curve
    from pillow_grace.fit.select import uninformative

    q = [30, 50, 70, 85, 95, 100]
    falling = Curve("jpeg-444", q, [1e5, 2e5, 3e5, 4e5, 6e5, 9e5], [0.1, 0.03, 0.01, 0.004, 0.002, 0.001], 5)
    assert uninformative(falling) is None
    flat = Curve("jpeg-444", q, falling.bits, [1.5, 1.4, 1.5, 1.5, 1.5, 1.5], 5)
    assert "barely depends" in str(uninformative(flat))
    noisy = Curve("jpeg-444", q, falling.bits, [0.01, 0.03, 0.002, 0.02, 0.001, 0.003], 5)
    assert uninformative(noisy) is not None  # a 3x range, but no trend with quality


def _curves(scale_per_image: list[float], **others: list[float]) -> dict[str, Curve]:
    """JPEG 4:4:4 and 4:2:0 curves over len(scale_per_image) images, and a candidate
    that reaches JPEG 4:4:4's loss at ``scale`` times its bits on each image
    (and one such candidate per keyword)."""
    q = [30, 50, 70, 85, 95, 100]
    base = [1e4, 2e4, 3e4, 4e4, 6e4, 9e4]
    loss = [0.1, 0.03, 0.01, 0.004, 0.002, 0.001]

    def curve(label: str, factors: list[float]) -> Curve:
        per_image = [[(b * f, v) for f in factors] for b, v in zip(base, loss, strict=True)]
        return Curve(label, q, [sum(b for b, _ in pts) for pts in per_image],
                     [float(np.mean([v for _, v in pts])) for pts in per_image],
                     len(factors), per_image)

    n = len(scale_per_image)
    return {"jpeg-444": curve("jpeg-444", [1.0] * n), "jpeg-420": curve("jpeg-420", [1.2] * n),
            "cand": curve("cand", scale_per_image)} | {k: curve(k, v) for k, v in others.items()}


def test_a_saving_on_every_image_is_kept_and_one_carried_by_a_single_image_is_not() -> None:
    from pillow_grace.fit.select import upper_bound, verdict

    steady = _curves([0.7] * 8)
    assert upper_bound(steady, "cand") == pytest.approx(-0.3, abs=1e-6)
    # One image saves nine tenths, the other seven cost 10% more: the pooled
    # verdict is a saving, but most resamples without that image lose.
    lucky = _curves([0.1] + [1.1] * 7)
    point = verdict([lucky["jpeg-444"], lucky["jpeg-420"]], lucky["cand"])
    bound = upper_bound(lucky, "cand")
    assert point < 0 < bound


def test_a_lead_over_another_candidate_counts_only_where_it_holds_on_most_images() -> None:
    from pillow_grace.fit.select import upper_bound, verdict

    c = _curves([0.7] * 8, steady=[0.5] * 8, lucky=[0.2] + [0.75] * 7)
    refs = [c["jpeg-444"], c["jpeg-420"]]
    assert verdict(refs, c["lucky"]) < verdict(refs, c["cand"])  # ahead on the pooled curve
    assert upper_bound(c, "lucky", than="cand") > 0  # but not with confidence
    assert upper_bound(c, "steady", than="cand") == pytest.approx(-0.2, abs=1e-6)


def test_a_calibration_margin_aims_below_jpegs_loss_by_that_factor() -> None:
    # On the hand-made curves log-loss falls by RATE per quality point, so aiming at
    # 0.8x JPEG's loss moves every effective quality up by ln(1/0.8) / RATE points.
    got = calibrate(jpeg_like("cand"), jpeg_like(), margin=0.8)
    step = math.log(1 / 0.8) / RATE
    assert [e for _, e in got] == pytest.approx([min(100.0, q + step) for q in QS], abs=1e-9)


def test_loss_at_bits_inverts_bits_at_loss_on_a_power_law() -> None:
    curve = jpeg_like()
    for loss in (math.exp(-RATE * 40), math.exp(-RATE * 77.5), math.exp(-RATE * 99)):
        assert loss_at_bits(curve, bits_at_loss(curve, loss)) == pytest.approx(loss, rel=1e-9)
    # Below its cheapest point: its highest loss; above its dearest: its lowest.
    assert loss_at_bits(curve, curve.bits[0] / 2) == pytest.approx(curve.loss[0])
    assert loss_at_bits(curve, curve.bits[-1] * 2) == pytest.approx(curve.loss[-1])


@pytest.mark.parametrize(
    ("bits_scale", "expected_ratio"),
    [
        (0.5, 0.8),  # saves plenty: 0.8x JPEG's loss costs 0.56x its bits, the margin holds
        (0.9, (0.9 / 0.95) ** 2),  # 0.8x would cost 1.006x the bits: aimed where it costs 0.95x
        (1.1, 1.0),  # dearer at every loss: never aimed above JPEG's own loss
    ],
)
def test_a_bits_cap_trades_the_loss_margin_for_fewer_bytes_than_jpeg(
    bits_scale: float, expected_ratio: float
) -> None:
    # The candidate's loss at q equals JPEG's; its bits are bits_scale x JPEG's at the same loss,
    # so reaching loss l costs bits_scale x 1000 / sqrt(l). Aiming at ratio r x JPEG's loss moves
    # the effective quality up by ln(1/r) / RATE points.
    got = calibrate(jpeg_like("cand", bits_scale=bits_scale), jpeg_like(), margin=0.8, bits_cap=0.95)
    step = math.log(1 / expected_ratio) / RATE
    assert [e for _, e in got] == pytest.approx([min(100.0, q + step) for q in QS], abs=1e-6)


def test_a_blind_fallback_subsamples_only_where_it_costs_the_model_nothing_at_the_same_quality() -> None:
    from pillow_grace.fit.calibration import Curve
    from pillow_grace.fit.select import blind_subsampling

    q = [30, 50, 70, 85, 95, 100]
    bits444 = [1e5, 2e5, 3e5, 4e5, 6e5, 9e5]
    bits420 = [0.85 * b for b in bits444]
    noisy = [0.13, 0.03, 0.005, 0.014, 0.044, 0.02]  # BlazeFace-like: no trend with quality
    j444 = Curve("jpeg-444", q, bits444, noisy, 15)
    # Same loss quality for quality (or lower on average): the cheaper 4:2:0.
    assert blind_subsampling(j444, Curve("jpeg-420", q, bits420, noisy, 15)) == "4:2:0"
    lower = [v * f for v, f in zip(noisy, [1.5, 1.2, 0.9, 0.4, 1.0, 0.7], strict=True)]
    assert blind_subsampling(j444, Curve("jpeg-420", q, bits420, lower, 15)) == "4:2:0"
    # Loss twice as high at every quality: chroma matters to this model, keep 4:4:4.
    double = [2 * v for v in noisy]
    assert blind_subsampling(j444, Curve("jpeg-420", q, bits420, double, 15)) == "4:4:4"
    # Not cheaper at some quality: nothing to gain.
    costly = [*bits420[:-1], 1.01 * bits444[-1]]
    assert blind_subsampling(j444, Curve("jpeg-420", q, costly, noisy, 15)) == "4:4:4"

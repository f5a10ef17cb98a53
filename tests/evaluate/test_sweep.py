"""A tiny end-to-end sweep (real codecs, a tiny torch classifier), so the pipeline cannot silently break.

Marked ``bench``; each test takes a few seconds on 2 cores."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from pillow_grace.bench import export, plot, report
from pillow_grace.bench.job import BenchJob, run_job
from pillow_grace.bench.studies import run_ablation
from pillow_grace.evaluate.analysis import summarize
from pillow_grace.evaluate.capture import CaptureSpec
from pillow_grace.evaluate.codecs import JpegCodec, build_codecs
from pillow_grace.evaluate.runner import ResultCache, prepare_smart, prepare_zeroed, run_sweep
from tests.support.benchkit import bench_images, hand_strategy, tiny_classifier

pytestmark = pytest.mark.bench

CAPTURE = CaptureSpec.parse("160x120")
QUALITIES = (30, 60, 90)
CURVES = ("grace", "jpeg-420", "jpeg-444", "webp", "smart-jpeg-420", "smart-jpeg-444", "jpeg-zeroed")


def _sweep(cache: ResultCache | None = None, labels: list[int] | None = None):  # type: ignore[no-untyped-def]
    model = tiny_classifier()
    images = bench_images(4)
    frame, _ = CAPTURE.apply(images[0].image, model.input_size)
    smart, note = prepare_smart(model, frame, ("smart-jpeg-420", "smart-jpeg-444"))
    factors, zeroed_note = prepare_zeroed(model, frame)
    codecs, notes = build_codecs(
        [("grace", hand_strategy())],
        families=CURVES,
        grace_qualities=(*QUALITIES, None),
        baseline_qualities=QUALITIES,
        device_resize=smart.device_resize,
        resize_factors=factors,
    )
    sweep = run_sweep(
        model,
        images,
        codecs,
        capture=CAPTURE,
        smart=smart,
        labels=labels,
        progress=False,
        batch_size=4,
        cache=cache,
        notes=[note, zeroed_note, *notes],
    )
    return sweep, codecs, images


def test_sweep_measures_real_files_and_sane_accuracy(tmp_path: Path) -> None:
    sweep, codecs, images = _sweep()
    assert len(sweep.settings) == len(codecs) + 1  # + the uncompressed reference row
    by = {(s.curve, s.setting): s for s in sweep.settings}
    # Bytes are those of the real file.
    frame, _ = CAPTURE.apply(images[2].image)
    buf = io.BytesIO()
    frame.save(buf, "JPEG", quality=60, optimize=True, subsampling="4:2:0")
    assert by[("jpeg-420", "q60")].bits[2] == 8 * len(buf.getvalue()) == 8 * len(JpegCodec(60).encode(frame))
    # More quality, more bytes; less distortion at the top end.
    j = [by[("jpeg-444", f"q{q}")] for q in QUALITIES]
    assert all(a.bits.sum() < b.bits.sum() for a, b in itertools.pairwise(j))
    assert j[-1].records["kl"].mean() < by[("jpeg-420", "q30")].records["kl"].mean()
    # The smart baseline sends the 48x48 network input: far fewer bytes.
    assert by[("smart-jpeg-420", "q90")].bits.mean() < by[("jpeg-420", "q30")].bits.mean()
    raw = by[("uncompressed", "raw RGB")]
    assert raw.records["top1"].tolist() == [1.0] * 4 and raw.records["kl"].tolist() == [0.0] * 4
    for s in sweep.settings:
        assert np.all(s.bits > 0)
        assert np.all((s.records["top1"] >= 0) & (s.records["top1"] <= 1))
        assert np.all(s.records["kl"] >= 0)

    # The new baselines: the small image in 4:4:4 costs more than in 4:2:0; zeroing the bins the
    # 48x48 input cannot see (160x120 -> 48x48: factors 2.5 x 3.33) saves bytes against JPEG 4:4:4.
    assert by[("smart-jpeg-444", "q90")].bits.sum() > by[("smart-jpeg-420", "q90")].bits.sum()
    assert by[("jpeg-zeroed", "q90")].bits.sum() < by[("jpeg-444", "q90")].bits.sum()
    assert any("jpeg-zeroed: tiny-cls-0 shrinks" in n for n in sweep.notes)

    summary = summarize(sweep, bootstrap=50, seed=1)
    assert summary.curves == list(CURVES)
    assert {(c.test, c.reference) for c in summary.comparisons} == {("grace", r) for r in CURVES[1:]}
    for p in summary.points:
        iv = p.metrics["top1"]
        assert iv.low <= iv.value + 1e-12 and iv.value <= iv.high + 1e-12
    text = report.render_text(summary)
    assert "jpeg-420" in text and "BD-rate" in text
    for header_rows in (
        report.points_rows(summary),
        report.comparison_rows(summary),
        report.target_rows(summary),
    ):
        assert {"smart-jpeg-444", "jpeg-zeroed"} <= {cell for row in header_rows[1] for cell in row}
    out = export.summary_json(summary)
    export.write_json(out, tmp_path / "s.json")
    back = json.loads((tmp_path / "s.json").read_text())
    for family in ("smart-jpeg-444", "jpeg-zeroed"):
        assert any(p["curve"] == family for p in back["points"])
        assert any(c["reference"] == family for c in back["bd_rates"])
        assert family in back["bytes_at_accuracy"]
    assert back["format"] == "grace-bench" and len(back["images"]) == 4
    assert {i["name"] for i in back["images"]} == {im.name for im in images}
    assert back["per_image"]["grace/q60"]["bits"] == [int(b) for b in by[("grace", "q60")].bits]
    png = plot.plot(summary, tmp_path / "plot.png")
    if png is not None:  # matplotlib is in the bench extra
        assert png.stat().st_size > 1000
    md = report.markdown_section(summary, title="t", image="plot.png")
    assert "| GRACE curve | vs |" in md

    # The quality scale: GRACE's loss over JPEG 4:4:4's at each quality both ran, from the
    # same per-image measurements, with a paired interval around it.
    scale = {(r.setting, r.metric): r for r in summary.quality_scale}
    assert {m for _, m in scale} == {"kl"}  # the one loss metric (top-1 is an agreement)
    assert {q for q, _ in scale} == {f"q{q}" for q in QUALITIES}
    for q in QUALITIES:
        r, g, j = scale[(f"q{q}", "kl")], by[("grace", f"q{q}")], by[("jpeg-444", f"q{q}")]
        assert r.ratio.value == pytest.approx(g.records["kl"].mean() / j.records["kl"].mean())
        assert r.bytes_ratio == pytest.approx(g.bits.sum() / j.bits.sum())
        assert r.ratio.low <= r.ratio.value <= r.ratio.high
    assert "loss / JPEG 4:4:4's" in text and "loss / JPEG 4:4:4's" in md
    assert [x["setting"] for x in back["quality_scale"]] == [r.setting for r in summary.quality_scale]
    assert "| grace | jpeg-zeroed |" in md and "| grace | smart-jpeg-444 |" in md


def test_cache_reuses_results_and_labels_add_accuracy() -> None:
    cache = ResultCache()
    first, _, _ = _sweep(cache)
    assert cache.results, "results were cached"
    second, _, _ = _sweep(cache)
    for a, b in zip(first.settings, second.settings, strict=True):
        assert np.array_equal(a.bits, b.bits)
        assert np.array_equal(a.records["kl"], b.records["kl"])
    labelled, _, _ = _sweep(labels=[0, 1, 2, 3])
    assert "label_top1" in labelled.settings[0].records
    clean = labelled.settings[0]
    assert clean.curve == "uncompressed"
    assert clean.records["label_top1"].tolist() == [
        float(p == lab) for p, lab in zip(clean.records["pred"], [0, 1, 2, 3], strict=True)
    ]


def test_job_refuses_probe_images_and_runs_an_ablation() -> None:
    from pillow_grace.bench.ablations import ablations_by_name
    from pillow_grace.evaluate.probes import ProbeOverlapError

    images = bench_images(4)
    fit_record = {"chosen": "bt601-4:4:4",
                  "verdict_vs_better_jpeg": {"bt601-4:4:4": -0.2, "bt601-4:2:0": -0.1}}
    strategy = hand_strategy(provenance={"probe_image_sha256": [images[0].fingerprint],
                                         "selection": fit_record})
    job = BenchJob(
        strategy=strategy,
        model=tiny_classifier(),
        images=images,
        capture=CAPTURE,
        families=("grace", "jpeg-420"),
        grace_qualities=QUALITIES,
        baseline_qualities=QUALITIES,
        bootstrap=20,
        progress=False,
        probe_policy="refuse",  # the main job's default is "exclude"
    )
    with pytest.raises(ProbeOverlapError, match=r"synthetic:photo0\.png"):
        run_job(job)
    job.probe_policy = "exclude"
    summary = run_job(job)
    assert [i["name"] for i in summary.sweep.images] == [im.name for im in images[1:]]
    assert summary.sweep.probe_checks[0].status == "excluded"
    # The fit's own verdict travels with the report (the probe-vs-evaluation gap).
    assert summary.sweep.strategies[0]["selection"]["chosen"] == "bt601-4:4:4"
    assert summary.sweep.strategies[0]["selection"]["verdict"] == -0.2
    res = run_ablation(job, ablations_by_name()["colour space"])
    assert not isinstance(res, str)
    assert res.curves == ["grace[G-YUV]", "grace[BT.601]"]
    assert [(c.test, c.reference) for c in res.comparisons if c.metric == "top1"] == [
        ("grace[BT.601]", "grace[G-YUV]")
    ]
    skipped = run_ablation(job, ablations_by_name()["colour median"])  # no probe images given: no refit
    assert isinstance(skipped, str) and "needs the fitter" in skipped


def test_a_refit_chooses_its_subsampling_again_where_the_fit_did() -> None:
    from pillow_grace.bench.job import refit_subsampling

    def sub420(**prov: object) -> str:
        return refit_subsampling(hand_strategy(subsampling="4:2:0", provenance=dict(prov)))

    # Fitted with "auto": the refit measures again, whatever the first fit took.
    assert sub420(subsampling_option="auto") == "auto"
    # Asked for 4:2:0 outright: so is the refit.
    assert sub420(subsampling_option="4:2:0", selection={}) == "4:2:0"
    # Older strategies: a validated fit chose by measurement; an unvalidated one keeps its subsampling.
    assert sub420(selection={"chosen": "x"}) == "auto"
    assert sub420(selection="not validated") == "4:2:0"

"""``grace fit`` options of the measured selection: --no-validate, --subsampling auto, --weights."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

pytest.importorskip("torch")
from grace_fit_models import images

from pillow_grace import Strategy, cli

pytestmark = pytest.mark.slow  # fits and validates models end to end (the quick run skips it)


@pytest.fixture(scope="module")
def probe_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("select-probes")
    for i, f in enumerate(images(3, (48, 32), seed=70)):
        Image.fromarray(f).save(d / f"f{i}.png")
    return d


def fit(probe_dir: Path, out: Path, *extra: str) -> Strategy:
    assert cli.main(["fit", "--model", "grace_fit_models:tiny_factory", "--images", str(probe_dir),
                     "--out", str(out), "--probe-count", "3", "--quiet", *extra]) == 0
    return Strategy.load(out)


def test_no_validate_with_theorem2_weights(probe_dir: Path, tmp_path: Path) -> None:
    s = fit(probe_dir, tmp_path / "quick.json", "--no-validate", "--weights", "theorem2",
            "--subsampling", "4:4:4")
    assert s.provenance["selection"] == "not validated"
    assert s.provenance["colour_search"] is None
    assert s.allocation is not None and s.allocation.calibration is None
    assert s.subsampling == "4:4:4"
    assert s.weights == pytest.approx(tuple(s.provenance["theorem2_weights"]))


def test_subsampling_auto_validates_both_geometries(probe_dir: Path, tmp_path: Path) -> None:
    s = fit(probe_dir, tmp_path / "auto.json", "--subsampling", "auto", "--weights", "theorem2")
    sel = s.provenance["selection"]
    assert sel != "not validated" and sel["validation_images"] == 3
    assert {"jpeg-444", "jpeg-420"} <= set(sel["curves"])
    assert {k.split("-")[-2] for k in sel["verdict_vs_better_jpeg"]} == {"4:4:4", "4:2:0"}
    assert s.provenance["colour_search"] is None  # theorem2: the weights are not searched
    assert s.subsampling in ("4:4:4", "4:2:0")


def test_default_weights_are_searched(probe_dir: Path, tmp_path: Path) -> None:
    s = fit(probe_dir, tmp_path / "searched.json", "--weights", "auto")
    search = s.provenance["colour_search"]
    assert search is not None and set(search["log_bytes"]) == {"4:4:4", "4:2:0"}


def test_bad_subsampling_is_refused(probe_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as e:
        cli.main(["fit", "--model", "grace_fit_models:tiny_factory", "--images", str(probe_dir),
                  "--out", str(tmp_path / "x.json"), "--subsampling", "4:1:1"])
    assert e.value.code == 2

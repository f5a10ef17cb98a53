"""The ``grace`` command line, through ``pillow_grace.cli.main``."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

pytest.importorskip("torch")
from grace_fit_models import images

from pillow_grace import Strategy, cli

HERE = Path(__file__).resolve().parent


pytestmark = pytest.mark.slow  # fits models end to end through the CLI (the quick run skips it)


@pytest.fixture(scope="module")
def probe_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("probes")
    for i, f in enumerate(images(4, (64, 48), seed=20)):
        Image.fromarray(f).save(d / f"frame{i}.png")
    Image.fromarray(images(1, (80, 50), seed=21)[0]).save(d / "odd-size.png")  # resized to cover + cropped
    (d / "notes.txt").write_text("not an image")
    return d


@pytest.fixture(scope="module")
def fitted(probe_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out") / "tiny-cli.json"
    assert cli.main(["fit", "--model", "grace_fit_models:tiny_factory", "--images", str(probe_dir),
                     "--out", str(out), "--probe-count", "3", "--seed", "1", "--quiet",
                     "--quality", "80"]) == 0
    return out


def test_fit_writes_a_valid_strategy(fitted: Path, probe_dir: Path) -> None:
    s = Strategy.load(fitted)
    assert s.name == "tiny-cli" and s.probe_resolution == (64, 48) and s.allocation.quality == 80
    p = s.provenance
    assert p["model_spec"] == "grace_fit_models:tiny_factory" and p["probe_images"] == 3
    assert len(p["probe_files"]) == 3 and set(p["probe_files"]) <= {f.name for f in probe_dir.iterdir()}
    assert p["probe_candidates"] == 5 and p["seed"] == 1


def test_fit_is_deterministic_and_seed_picks_the_probes(fitted: Path, probe_dir: Path,
                                                        tmp_path: Path) -> None:
    again = tmp_path / "tiny-cli.json"
    args = ["fit", "--model", "grace_fit_models:tiny_factory", "--images", str(probe_dir),
            "--out", str(again), "--probe-count", "3", "--quiet", "--quality", "80"]
    assert cli.main([*args, "--seed", "1"]) == 0
    a, b = Strategy.load(fitted), Strategy.load(again)
    assert a.perception == b.perception and a.tables == b.tables and a.weights == b.weights
    assert a.provenance["probe_image_sha256"] == b.provenance["probe_image_sha256"]
    assert cli.main([*args, "--seed", "7"]) == 0
    assert Strategy.load(again).perception != a.perception


def test_fit_with_a_file_factory_returning_a_zoo_like_model(probe_dir: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "zoo.json"
    spec = f"{HERE / 'grace_fit_models.py'}:zoo_like_factory"
    assert cli.main(["fit", "--model", spec, "--images", str(probe_dir), "--out", str(out), "--quiet",
                     "--capture-size", "40x32", "--probe-count", "2", "--allocation", "paper",
                     "--loss", "argmax", "--weights", "bt601", "--no-validate"]) == 0
    s = Strategy.load(out)
    assert s.name == "tiny-zoo" and s.model_input_size == (32, 24) and s.probe_resolution == (40, 32)
    assert s.allocation.method == "paper" and s.provenance["loss"] == "argmax"
    assert s.weights == pytest.approx((0.299, 0.587, 0.114))
    assert "rename it to tiny-zoo.json" in capsys.readouterr().err


def test_show_prints_tables_and_draws_png(fitted: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "maps.png"
    assert cli.main(["show", str(fitted), "--png", str(png)]) == 0
    text = capsys.readouterr().out
    assert "G-YUV weights" in text and "Y table:" in text and "V table:" in text
    s = Strategy.load(fitted)
    assert " ".join(f"{q:3d}" for q in s.tables[0][:8]) in text
    assert f"allocation        {s.allocation.method}" in text
    # The measured curves are announced exactly when the strategy carries them.
    assert ("measured R-D      39 steps" in text) == (s.perception.rate_distortion is not None)
    with Image.open(png) as im:
        assert im.format == "PNG" and im.width > 3 * 8 * 20 and im.height > 2 * 8 * 20
        assert len(im.convert("RGB").getcolors(1 << 20) or []) > 20  # really a heat-map


def test_merge_list_encode_decode(fitted: Path, probe_dir: Path, tmp_path: Path, isolated_registry: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    other = isolated_registry / "tiny-other.json"
    assert cli.main(["fit", "--model", "grace_fit_models:tiny_factory", "--images", str(probe_dir), "--out",
                     str(other), "--probe-count", "2", "--quiet", "--seed", "3"]) == 0
    merged = isolated_registry / "both.json"
    assert cli.main(["merge", str(fitted), "tiny-other", "--out", str(merged), "--name", "both"]) == 0
    m = Strategy.load(merged)
    assert [d["name"] for d in m.provenance["merged_from"]] == ["tiny-cli", "tiny-other"]

    capsys.readouterr()
    assert cli.main(["list"]) == 0
    listing = capsys.readouterr().out
    assert "tiny-other" in listing and "both" in listing and "path" in listing

    src = tmp_path / "in.png"
    Image.fromarray(images(1, (64, 48), seed=30)[0]).save(src)
    jpg, back = tmp_path / "out.jpg", tmp_path / "back.png"
    assert cli.main(["encode", str(src), str(jpg), "--strategy", "both", "--quality", "90"]) == 0
    # Both tiny fits fell back to standard JPEG, so the merged strategy writes plain JPEG
    # (no GRACE segment); a merge of fitted tables writes GRACE files (tests/codec).
    assert m.allocation is not None and m.allocation.method == "reference"
    with Image.open(jpg) as im:
        assert im.format == "JPEG"
    assert cli.main(["decode", str(jpg), str(back)]) == 0
    with Image.open(back) as im:
        assert im.format == "PNG" and im.size == (64, 48) and im.mode == "RGB"


def test_errors_are_reported_not_raised(tmp_path: Path, probe_dir: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "x.json")
    imgs = ["--images", str(probe_dir), "--out", out]
    cases = [
        (["fit", "--model", "no_such_module_xyz:f", *imgs], "cannot import"),
        (["fit", "--model", "grace_fit_models:nope", *imgs], "no attribute"),
        (["fit", "--model", "not-a-zoo-model", *imgs], "zoo models"),
        (["fit", "--model", "grace_fit_models:tiny_factory", "--images", str(tmp_path / "missing"),
          "--out", out], "does not exist"),
        (["show", str(tmp_path / "missing.json")], "cannot read"),
    ]
    for argv, message in cases:
        assert cli.main(argv) == cli.EXIT_ERROR
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        cli.main(["fit", "--model", "m:f", "--images", ".", "--out", out, "--capture-size", "wide"])
    assert exc.value.code == 2


def test_bench_hook_is_wired() -> None:
    """``grace bench`` is a subcommand of ``grace``, handled by the bench package's own CLI."""
    from pillow_grace.bench import cli as bench_cli

    parser = cli.build_parser()
    assert "bench" in parser.format_help()
    args = parser.parse_args(["bench", "--capture-size", "model"])
    assert args.func is bench_cli.run and args.capture_size == "model"


def test_a_model_module_in_the_current_directory_and_a_fallback_that_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``grace fit --model my_models:factory`` from the folder holding my_models.py, no PYTHONPATH;
    this model and these frames fall back to standard JPEG 4:2:0, and the command line says so."""
    import sys

    frames = tmp_path / "frames"
    frames.mkdir()
    for i, f in enumerate(images(6, (64, 48), seed=5)):
        Image.fromarray(f).save(frames / f"f{i}.png")
    (tmp_path / "my_cwd_net.py").write_text(  # a neighbour the model module imports
        "from grace_fit_models import Classifier\n\ndef net():\n    return Classifier(classes=10, seed=3)\n"
    )
    model_module = "import my_cwd_net\n\ndef make():\n    return my_cwd_net.net()\n"
    (tmp_path / "my_cwd_models.py").write_text(model_module)
    monkeypatch.chdir(tmp_path)
    assert str(tmp_path) not in sys.path
    try:
        assert cli.main(["fit", "--model", "my_cwd_models:make", "--images", "frames", "--out", "fb.json",
                         "--probe-count", "6", "--quiet"]) == 0
    finally:
        sys.modules.pop("my_cwd_models", None)
        sys.modules.pop("my_cwd_net", None)
    out = capsys.readouterr().out
    s = Strategy.load(tmp_path / "fb.json")
    assert s.allocation.method == "reference" and s.subsampling == "4:2:0"
    assert "fallback: standard JPEG 4:2:0" in out and "held-out probe images" in out
    assert "upper bound +" in out or "upper bound undefined" in out


def test_a_model_module_that_is_nowhere_names_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Image.fromarray(images(1, (64, 48), seed=2)[0]).save(tmp_path / "f.png")
    assert cli.main(["fit", "--model", "no_such_models:make", "--images", ".", "--out", "x.json"]) == 1
    err = capsys.readouterr().err
    assert "no_such_models.py" in err

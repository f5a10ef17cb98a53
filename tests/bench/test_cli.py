"""``grace bench`` on the command line, with the zoo swapped for a tiny model."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

from pillow_grace.bench import cli, job
from tests.support.benchkit import bench_images, hand_strategy, tiny_classifier


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    images = bench_images(3)
    img_dir = tmp_path / "photos"
    img_dir.mkdir()
    for im in images:
        im.image.save(img_dir / im.name.split(":")[1])
    clean = tmp_path / "hand.json"
    hand_strategy().save(clean)
    probed = tmp_path / "probed.json"
    hand_strategy(name="probed", provenance={"probe_image_sha256": [images[1].fingerprint]}).save(probed)
    model = tiny_classifier()
    monkeypatch.setattr(job, "load_model", lambda name: model)
    return {"dir": img_dir, "clean": clean, "probed": probed, "out": tmp_path / "out"}


ARGS = [
    "--capture-size",
    "160x120",
    "--codecs",
    "grace,jpeg-420,smart-jpeg-420,smart-jpeg-444,jpeg-zeroed",
    "--qualities",
    "30,70,own",
    "--baseline-qualities",
    "30,70,95",
    "--bootstrap",
    "20",
    "--quiet",
    "--model",
    "tiny",
]


def run_bench(setup: dict[str, Path], strategy: str, *extra: str) -> int:
    """``grace bench`` on the fixture's photo folder with strategy file ``setup[strategy]``."""
    where = ["--images", str(setup["dir"]), "--out", str(setup["out"])]
    return cli.main(["bench", "--strategy", str(setup[strategy]), *where, *extra, *ARGS])


def test_add_parser_registers_a_handler() -> None:
    parser = argparse.ArgumentParser(prog="grace")
    sub = parser.add_subparsers()
    cli.add_parser(sub)
    args = parser.parse_args(["bench", "--capture-size", "model"])
    assert args.func is cli.run
    assert args.strategy is None and args.capture_size == "model"
    assert args.codecs.split(",")[-3:] == ["smart-jpeg-420", "smart-jpeg-444", "jpeg-zeroed"]


@pytest.mark.bench
def test_bench_command_writes_table_json_plot_and_markdown(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    rc = run_bench(setup, "clean")
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "jpeg-420" in out and "smart-jpeg-420" in out and "own tables" in out
    data = json.loads((setup["out"] / "summary.json").read_text())
    assert len(data["images"]) == 3 and data["contaminated"] is False
    assert data["probe_checks"][0]["status"] == "unverifiable"
    assert (setup["out"] / "report.md").read_text().startswith("## tiny-cls-0 @ 160x120")
    md = (setup["out"] / "report.md").read_text()
    for family in ("smart-jpeg-444", "jpeg-zeroed"):
        assert f"| grace | {family} |" in md and f"| {family} | q95 |" in md
        assert {c["reference"] for c in data["bd_rates"]} >= {family}


def test_bench_command_refuses_probe_images_by_name(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    rc = run_bench(setup, "probed")
    err = capsys.readouterr().err
    assert rc == 1
    assert "photos:photo1.png" in err and "--allow-probe-overlap" in err
    assert not (setup["out"] / "summary.json").exists()


@pytest.mark.bench
def test_override_is_loud_and_marks_results(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    rc = run_bench(setup, "probed", "--allow-probe-overlap")
    captured = capsys.readouterr()
    assert rc == 0
    assert "WARNING" in captured.err and "CONTAMINATED" in captured.out
    data = json.loads((setup["out"] / "summary.json").read_text())
    assert data["contaminated"] is True


def test_bad_options_fail_with_a_message(setup: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["bench", "--codecs", "jpeg,avif", *ARGS[:2]]) == 1
    assert "unknown jpeg, avif" in capsys.readouterr().err
    assert cli.main(["bench", "--capture-size", "huge"]) == 1
    assert "--capture-size" in capsys.readouterr().err


def test_the_recorded_command_reruns_anywhere() -> None:
    from pillow_grace.bench.cli import rerun_command

    # `grace bench ...` and `python -m pillow_grace.bench ...` record the same portable command.
    assert rerun_command(["bench", "--images", "my photos", "--max-images", "3"]) == (
        "grace bench --images 'my photos' --max-images 3"
    )
    assert rerun_command(["--max-images", "3"]) == "grace bench --max-images 3"


@pytest.mark.bench
def test_own_frames_greyscale_and_colour_are_evaluated_and_skips_are_told(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    colour = Image.open(setup["dir"] / "photo0.png").convert("RGB")
    colour.convert("L").save(setup["dir"] / "grey-camera.png")  # a near-greyscale fixed camera
    see_through = colour.convert("RGBA")
    see_through.putpixel((0, 0), (0, 0, 0, 0))
    see_through.save(setup["dir"] / "overlay.png")
    (setup["dir"] / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    rc = cli.main(["bench", "--strategy", str(setup["clean"]), "--images", str(setup["dir"]),
                   "--out", str(setup["out"]), *ARGS, "--codecs", "grace,jpeg-420", "--no-plot"])
    out = capsys.readouterr().out
    assert rc == 0, out
    data = json.loads((setup["out"] / "summary.json").read_text())
    assert "photos:grey-camera.png" in [im["name"] for im in data["images"]]
    assert len(data["images"]) == 4
    assert "1 x has transparent pixels: photos:overlay.png" in out
    assert "not a readable image" in out and "photos:broken.jpg" in out


def test_without_torch_the_extra_to_install_is_named() -> None:
    """A fresh interpreter: in this one the torch-using bench modules are already imported,
    which would hide an import of torch that runs before the check."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['torch'] = None\n"  # import torch now raises ImportError
            "from pillow_grace import cli\n"
            "sys.exit(cli.main(['bench', '--quiet']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stderr
    assert "pip install 'pillow-grace[bench]'" in r.stderr


def test_no_arguments_is_the_main_job_and_images_dir_takes_every_frame() -> None:
    """``grace bench`` alone runs BenchJob's defaults (one home for the main job); ``--images DIR``
    evaluates all of its frames and refuses probe images unless told."""
    from pillow_grace.bench.job import BenchJob

    parser = argparse.ArgumentParser(prog="grace")
    cli.add_parser(parser.add_subparsers())
    main = BenchJob()
    job = cli.job_from_args(parser.parse_args(["bench"]))
    for name in ("strategy", "images", "max_images", "probe_policy", "grace_qualities", "baseline_qualities",
                 "capture"):
        assert getattr(job, name) == getattr(main, name), name
    own = cli.job_from_args(parser.parse_args(["bench", "--images", "frames/"]))
    assert own.images == "frames/" and own.max_images is None and own.probe_policy == "refuse"


FACTORY = (
    "from tests.support.benchkit import tiny_classifier\n\n\n"
    "def bare():\n"
    "    return tiny_classifier().module  # a torch module, as grace fit --model accepts\n"
)


@pytest.fixture
def factory_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding ``tiny_net.py`` (a factory of a bare torch module), as the working directory."""
    (tmp_path / "tiny_net.py").write_text(FACTORY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "tiny_net", raising=False)
    return tmp_path


def test_a_factory_of_a_bare_module_takes_task_and_input_size_from_the_strategy(factory_dir: Path) -> None:
    import torch

    model = job.resolve_model("tiny_net:bare", hand_strategy())
    assert isinstance(model.module, torch.nn.Module)
    assert (model.task, model.input_size, model.name) == ("classification", (48, 48), "tiny_net:bare")


def test_a_factory_model_without_an_input_size_anywhere_is_refused_by_name(
    factory_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hand_strategy(model_input_size=None).save(factory_dir / "nosize.json")
    (factory_dir / "frames").mkdir()
    bench_images(1)[0].image.save(factory_dir / "frames" / "f.png")
    rc = cli.main(["bench", "--model", "tiny_net:bare", "--strategy", "nosize.json", "--images", "frames",
                   "--quiet", "--no-plot"])
    err = capsys.readouterr().err
    assert rc == 1 and "tiny_net:bare" in err and "input_size" in err, err


@pytest.mark.bench
def test_bench_runs_a_factory_of_a_bare_module(factory_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hand_strategy().save(factory_dir / "hand.json")
    (factory_dir / "frames").mkdir()
    for im in bench_images(3):
        im.image.save(factory_dir / "frames" / im.name.split(":")[1])
    args = [a for a in ARGS if a not in ("--model", "tiny")]
    rc = cli.main(["bench", "--model", "tiny_net:bare", "--strategy", "hand.json", "--images", "frames",
                   "--out", "out", "--no-plot", *args])
    assert rc == 0, capsys.readouterr().err
    data = json.loads((factory_dir / "out" / "summary.json").read_text())
    assert data["model"]["input_size"] == [48, 48] and len(data["images"]) == 3

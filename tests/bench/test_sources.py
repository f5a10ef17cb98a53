"""Named photo sets: registering them, combining them with folders, and the message without them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pillow_grace.bench import cli, sources
from pillow_grace.evaluate.photos import ImageSet
from tests.support.benchkit import synthetic_photo


@pytest.fixture
def no_tooling(monkeypatch: pytest.MonkeyPatch) -> None:
    """An installation without the repository's benchmarks/ tooling (as from a wheel)."""
    monkeypatch.setattr(sources, "TOOLING_PACKAGE", "no_such_tooling")
    monkeypatch.setattr(sources, "TOOLING_PHOTO_SETS", "no_such_tooling.photo_sets")
    monkeypatch.setattr(sources, "checkout_root", lambda: None)
    monkeypatch.setattr(sources, "_sets", {})
    monkeypatch.setattr(sources, "_probe_finders", [])


def test_a_registered_set_loads_by_name_beside_a_folder(no_tooling: None, tmp_path: Path) -> None:
    def two_photos() -> ImageSet:
        out = ImageSet()
        out.add("mine:a", synthetic_photo(1), "mine")
        out.add("mine:b", synthetic_photo(2), "mine")
        return out

    sources.register_photo_set("mine", two_photos)
    synthetic_photo(3).save(tmp_path / "c.png")
    synthetic_photo(1).save(tmp_path / "same-as-a.png")
    iset = sources.load_images(f"mine, {tmp_path}")
    assert [im.name for im in iset.images] == ["mine:a", "mine:b", f"{tmp_path.name}:c.png"]
    assert iset.skipped == [(f"{tmp_path.name}:same-as-a.png", "duplicate of mine:a")]
    assert "mine" in sources.photo_sets()
    with pytest.raises(ValueError, match="comma"):
        sources.register_photo_set("a,b", two_photos)


def test_a_set_name_without_the_tooling_says_to_pass_a_folder(no_tooling: None) -> None:
    with pytest.raises(sources.ToolingNotFound, match="--images DIR"):
        sources.load_images("offline")
    assert sources.probe_candidate_files() == []
    with pytest.raises(sources.ToolingNotFound, match="source checkout"):
        sources.repo_tooling("results", "grace bench --all")


def test_grace_bench_without_the_tooling_fails_with_that_message(
    no_tooling: None, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")  # without torch, grace bench stops on that before it looks for photos
    assert cli.main(["bench", "--quiet"]) == 1  # the default photos are the 'native720' set
    err = capsys.readouterr().err
    assert "grace bench: error:" in err and "'native720'" in err and "--images DIR" in err
    assert cli.main(["bench", "--all", "--quiet"]) == 1
    assert "source checkout" in capsys.readouterr().err


def test_the_checkout_is_found_from_the_editable_install_or_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(tmp_path)
    found = sources.checkout_root()
    assert found is None or (found / "benchmarks" / "photo_sets.py").is_file()
    monkeypatch.chdir(root)
    assert sources.checkout_root() is not None

"""Named photo sets: registering them, combining them with folders, and the message without them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pillow_grace.bench import cli, sources
from pillow_grace.evaluate.photos import ImageSet
from tests.support.benchkit import synthetic_photo


@pytest.fixture
def no_tooling(monkeypatch: pytest.MonkeyPatch) -> None:
    """An installation without any photo-set plugin (as from a wheel)."""
    monkeypatch.setattr(sources, "_plugins_loaded", True)
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


def test_a_set_name_without_a_plugin_says_to_pass_a_folder(no_tooling: None) -> None:
    with pytest.raises(sources.PhotoSetNotFound, match=r"--images DIR.*pip install -e benchmarks"):
        sources.load_images("offline")
    assert sources.probe_candidate_files() == []


def test_grace_bench_without_a_plugin_fails_with_that_message(
    no_tooling: None, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")  # without torch, grace bench stops on that before it looks for photos
    assert cli.main(["bench", "--quiet"]) == 1  # the default photos are the 'native720' set
    err = capsys.readouterr().err
    assert "grace bench: error:" in err and "'native720'" in err and "--images DIR" in err
    with pytest.raises(SystemExit):  # the results page is a repository script now
        cli.main(["bench", "--all"])


def _install_plugin(root: Path, module: str, body: str) -> None:
    """A real distribution on ``root`` (a dist-info with an entry point) whose module is ``body``."""
    (root / f"{module}.py").write_text(body, encoding="utf-8")
    info = root / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(
        f"[{sources.ENTRY_POINT_GROUP}]\n{module} = {module}:register\n", encoding="utf-8"
    )


def test_installed_distributions_register_their_sets_through_the_entry_point_group(
    no_tooling: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_plugin(tmp_path, "grace_frames_plugin", """
from pillow_grace.bench.sources import register_photo_set
from pillow_grace.evaluate.photos import ImageSet

def register():
    register_photo_set("plugin-frames", ImageSet)
""")
    _install_plugin(tmp_path, "grace_broken_plugin", "def register():\n    raise RuntimeError('no data')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sources, "_plugins_loaded", False)
    with pytest.warns(RuntimeWarning, match="grace_broken_plugin.*no data"):
        # Other installed plugins (the repository's own sets, after scripts/setup.sh) add theirs too.
        assert "plugin-frames" in sources.photo_sets()
    assert sources.load_images("plugin-frames").images == []

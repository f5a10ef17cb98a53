"""The repository's photo sets (benchmarks/photo_sets.py) and machine facts, on photos made here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks import machine, photo_sets
from pillow_grace.bench import sources


def _photo(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(small).resize((320, 240), Image.Resampling.BICUBIC), dtype=np.int16)
    return Image.fromarray(np.clip(base + rng.integers(-6, 7, base.shape), 0, 255).astype(np.uint8))


def test_every_set_is_registered_with_the_library() -> None:
    assert set(photo_sets.PHOTO_SETS) <= set(sources.photo_sets())
    assert photo_sets.probe_set_files in sources._probe_finders


def test_an_unknown_name_lists_the_sets() -> None:
    with pytest.raises(ValueError, match=r"neither a directory nor an installed photo set.*offline"):
        sources.load_images("no-such-set")


def test_opencv_set_applies_its_deny_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _photo(1).save(tmp_path / "fruits.jpg", quality=95)
    _photo(2).save(tmp_path / "pic2.png")
    monkeypatch.setattr(photo_sets, "OPENCV_DIR", tmp_path)
    monkeypatch.setattr(photo_sets, "SKIMAGE_PHOTOS", ())
    iset = sources.load_images("offline")
    assert [im.name for im in iset.images] == ["opencv:fruits.jpg"]
    assert ("opencv:pic2.png", "synthetic test pattern or logo (deny list)") in iset.skipped


def test_offline_set_says_when_opencv_doc_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(photo_sets, "OPENCV_DIR", tmp_path / "absent")
    monkeypatch.setattr(photo_sets, "SKIMAGE_PHOTOS", ())
    iset = photo_sets.load_offline()
    assert not iset.images and "apt-get install opencv-doc" in dict(iset.skipped)["opencv:*"]


def test_probe_set_lists_the_fifteen_probe_photos() -> None:
    entries = photo_sets.probe_set_entries()
    assert len(entries) == 15 and all(p.is_relative_to(photo_sets.OPENCV_DOC_ROOT) for p in entries)
    assert set(photo_sets.probe_set_files()) <= set(entries)


def test_machine_info_names_the_libraries() -> None:
    info = machine.machine_info()
    assert info["cores"] and info["pillow"] and info["pillow_grace"]
    assert "libjpeg_turbo" in info

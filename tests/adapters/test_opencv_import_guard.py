"""`import grace_opencv` without OpenCV names the extra to install.

Runs without cv2: OpenCV's absence is simulated by a ``None`` entry for
``cv2`` in ``sys.modules``, which makes ``import cv2`` fail as a missing module does."""

from __future__ import annotations

import importlib
import sys

import pytest


def test_import_without_opencv_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "grace_opencv" or m.startswith("grace_opencv.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(ImportError, match=r"pip install 'pillow-grace\[opencv\]'") as e:
        importlib.import_module("grace_opencv")
    assert isinstance(e.value, ModuleNotFoundError) and e.value.name == "cv2"
    assert "grace_opencv" not in sys.modules

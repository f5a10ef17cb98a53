"""Pillow conventions for the "GRACE" save format (issue #18, item 11)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from pillow_grace import EncodeOptionError, Strategy


def test_save_all_is_refused_clearly_and_leaves_no_options_behind(strategy: Strategy) -> None:
    """Pillow's JPEG writer has no save_all either; without a handler the
    KeyError left the options on the image, and the next save with no
    strategy reused the earlier one silently."""
    im = Image.new("RGB", (16, 16), (200, 30, 40))
    with pytest.raises(EncodeOptionError, match="one image per JPEG file"):
        im.save(io.BytesIO(), "GRACE", strategy=strategy, save_all=True)
    with pytest.raises(EncodeOptionError, match="needs a strategy"):
        im.save(io.BytesIO(), "GRACE")  # nothing of the refused call remains
    assert not getattr(im, "encoderinfo", {})


def test_append_images_is_refused_and_leaves_no_file(strategy: Strategy, tmp_path: Path) -> None:
    im = Image.new("RGB", (16, 16))
    out = tmp_path / "anim.jpg"
    with pytest.raises(EncodeOptionError, match="append_images"):
        im.save(out, "GRACE", strategy=strategy, append_images=[im.copy()])
    assert not out.exists()

"""The encoder's bytes, pinned: the same strategy and options give the same file.

The SHA-256 of a few encodes was computed before the encoder's decisions
moved into :class:`pillow_grace.core.codec.EncodePlan`; any refactoring of the
writer must keep every byte. The image is built from arithmetic alone (no
random generator whose stream could change between numpy versions).

libjpeg-turbo and Pillow write the entropy-coded data, so the pins hold for
the versions they were computed with; with other versions the test is
skipped (recompute the pins there with this module's ``_digest``).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from typing import Any

import numpy as np
import PIL
import pytest
from PIL import Image, features

import pillow_grace
from pillow_grace import load_strategy

#: (Pillow, libjpeg-turbo) the pins were computed with.
PINNED_WITH = ("13.0.0", "3.2.0")

pytestmark = pytest.mark.skipif(
    (PIL.__version__, features.version("libjpeg_turbo")) != PINNED_WITH,
    reason=f"encoder pins computed with Pillow/libjpeg-turbo {PINNED_WITH}",
)


def pin_image(width: int = 100, height: int = 76) -> Image.Image:
    """Edges, gradients and a checkerboard; odd size so edge blocks are padded."""
    y, x = np.mgrid[0:height, 0:width].astype(np.int64)
    r = (x * 5 + y * 3) % 256
    g = (x * y * 7 + (x ^ y) * 11) % 256
    b = ((x // 6 + y // 5) % 2) * 200 + (x * 13 % 37)
    return Image.fromarray(np.stack([r, g, b], -1).astype(np.uint8), "RGB")


def _digest(image: Image.Image, strategy: Any, **options: Any) -> str:
    out = io.BytesIO()
    pillow_grace.encode(image, out, strategy, **options)
    return hashlib.sha256(out.getvalue()).hexdigest()


CASES = [
    ("efficientnet-lite0", {}, "b161aceedce6cc3ed9627a003fcc64eb60809dbed8c4dfd15c26a2733a8e58d5"),
    ("efficientnet-lite0", {"quality": 50},
     "004ef18610bb7e5f963dee169051140af93c36c9126f9c4cab0cf3b8e6fcd052"),
    ("efficientnet-lite0", {"quality": 90, "subsampling": "4:2:0"},
     "57db18d0a82f0b63454d4382cd5a1f720c8bb48f821f59648ddaaa1ac95a12a9"),
    # above the strategy's reference_above: standard JPEG 4:4:4
    ("efficientnet-lite0", {"quality": 97},
     "7719a5d1193a19af0a6bbc637f204e4ceff6910fb15802145851c3af90138344"),
    ("efficientnet-lite0", {"progressive": True, "subsampling": "4:2:2"},
     "c9351e09d44a6e3872c9c3749a160efdaf2df147db7a5ff1c26d27508c71f0b1"),
    ("dbnet-ppocrv4-det", {}, "9c39432c11fc4b71fa50ad74452c4345439afa7537ed4dae5ce3aa050d845bd9"),
    ("dbnet-ppocrv4-det", {"quality": 30, "subsampling": "4:4:4"},
     "40c18d768592b2eb509d0260a69277830872e3d575dc061bf32c8d650c2d2d18"),
    ("dbnet-ppocrv4-det", {"quality": 85, "optimize": False, "comment": "pin", "dpi": (72, 72)},
     "695b31e24ecc66d50d37bd23db44529c1506236ce8e3020a2938bdc70839f031"),
    ("dbnet-ppocrv4-det", {"metadata": True},
     "08543864f4a9756f2bad78f3570c97ba8b2d887a95f8834e0d8a409719fff928"),
]


@pytest.mark.parametrize(("name", "options", "expected"), CASES)
def test_shipped_strategy_bytes_are_pinned(name: str, options: dict[str, Any], expected: str) -> None:
    assert _digest(pin_image(), name, **options) == expected


@pytest.mark.parametrize(("name", "expected"), [
    ("efficientnet-lite0", "4d73704c5c59a4896a9b09dbc485592956e66354cd264f44dfc037ed629d843e"),
    ("dbnet-ppocrv4-det", "05ded9384007e5d886b8cab912358ac0db6392aceeff34e6e3984e15a1ec05c3"),
])
def test_luma_bytes_are_pinned(name: str, expected: str) -> None:
    assert _digest(pin_image().convert("L"), name, quality=60) == expected


@pytest.mark.parametrize(("options", "expected"), [
    ({}, "0a517b9dddb5826e1cd9ba327964516b719fd2f28158694ab8dda66e228549e5"),
    ({"quality": 60, "subsampling": "4:4:4"},
     "1e0175f9b4dd4c506e3b5f6d331eb16c24121405f8e84116166cd3018afa7c9c"),
])
def test_custom_weight_bytes_are_pinned(options: dict[str, Any], expected: str) -> None:
    """G-YUV planes (not libjpeg's BT.601 conversion) and the GRACE segment."""
    strategy = replace(load_strategy("efficientnet-lite0"), name="pin-gyuv", weights=(0.35, 0.5, 0.15))
    assert _digest(pin_image(), strategy, **options) == expected


def test_opencv_adapter_bytes_are_pinned() -> None:
    gcv = pytest.importorskip("grace_opencv")
    bgr = np.ascontiguousarray(np.asarray(pin_image())[:, :, ::-1])
    ok, buf = gcv.imencode(".jpg", bgr, [1, 70], strategy="efficientnet-lite0")  # 1: IMWRITE_JPEG_QUALITY
    assert ok
    expected = "e130143678a8036cd5cd6771371399035dc2de0688bac2a2e9043f0dca55a893"
    assert hashlib.sha256(buf.tobytes()).hexdigest() == expected
    assert _digest(pin_image(), "efficientnet-lite0", quality=70) == expected

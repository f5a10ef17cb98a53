"""Encoding a cv2 image (a BGR, BGRA or grey uint8 array) as GRACE: the
array checks, the colour conversion with ``cv2.transform``, then
:func:`pillow_grace.core.codec.jpeg_bytes`, which writes the file by the
:class:`~pillow_grace.core.codec.EncodePlan` that decides everything else
about it.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from PIL import Image

from pillow_grace.core import _pixels, codec, colour
from pillow_grace.core.errors import UnsupportedModeError


def encode_grace(img: Any, plan: codec.EncodePlan) -> np.ndarray:
    """The GRACE JPEG of a cv2 image, as the 1-D uint8 array ``cv2.imencode`` returns."""
    arr = _image_array(img)
    h, w = arr.shape[:2]
    if arr.ndim == 2:
        planes = Image.frombuffer("L", (w, h), arr, "raw", "L", 0, 1)  # zero-copy view
    elif plan.libjpeg_colour:
        # BT.601: libjpeg converts RGB itself (SIMD), as for the Pillow adapter.
        cv2.cvtColor(arr, cv2.COLOR_BGR2RGBA, dst=_pixels.scratch_pixels(w, h))
        planes = _pixels.scratch_image("RGB", w, h)
    else:
        # cv2.transform on uint8 is exact here (see pillow_grace.core.colour),
        # written strip by strip into this thread's reused planes buffer:
        # fresh 8 MB buffers per frame cost more in page faults than the
        # colour conversion itself (docs/speed.md).
        forward = colour.cv2_forward(plan.strategy.weights, "BGR")
        colour.transform_rows(arr, forward, _pixels.scratch_pixels(w, h))
        planes = _pixels.scratch_image("YCbCr", w, h)
    return np.frombuffer(codec.jpeg_bytes(planes, plan), dtype=np.uint8)


#: How to make 8-bit samples from each kind of array (numpy dtype.kind).
_TO_UINT8 = {
    "b": "img.astype(np.uint8) * 255 for a mask",
    "f": "np.clip(img * 255, 0, 255).round().astype(np.uint8) for data in 0..1 "
    "(np.clip(img, 0, 255).round().astype(np.uint8) for data in 0..255)",
    "i": "np.clip(img, 0, 255).astype(np.uint8), or cv2.convertScaleAbs(img)",
    "u": "cv2.convertScaleAbs(img, alpha=255/65535) for 16-bit data",
}


def _image_array(img: Any) -> np.ndarray:
    """Validate a cv2-style image; returns a C-contiguous HxW or HxWx3 (BGR) uint8 array.

    Non-contiguous arrays (views, slices, negative strides) are copied, as
    cv2 itself does; BGRA is accepted only when fully opaque (the Pillow
    adapter's rule for RGBA: JPEG has no alpha)."""
    if not isinstance(img, np.ndarray):
        raise TypeError(f"img must be a numpy.ndarray (as for cv2), got {type(img).__name__}")
    if img.dtype != np.uint8:
        raise UnsupportedModeError(
            f"cannot write a {img.dtype} array as GRACE JPEG: baseline JPEG holds 8-bit samples; "
            f"convert first, e.g. {_TO_UINT8.get(img.dtype.kind, _TO_UINT8['u'])} (cv2 5 converts "
            "other depths itself, saturating without scaling; GRACE does not guess the range)"
        )
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (3, 4))):
        raise UnsupportedModeError(
            f"cannot write an array of shape {img.shape} as GRACE JPEG; expected HxW (grey), "
            "HxWx1, HxWx3 (BGR) or HxWx4 (BGRA)"
        )
    codec.check_size(img.shape[1], img.shape[0])
    if img.ndim == 3 and img.shape[2] == 4:
        if int(img[:, :, 3].min()) != 255:
            raise codec.transparency_error("a BGRA image", "cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)")
        return cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(img)

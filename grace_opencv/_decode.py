"""Decoding a GRACE file into a cv2 image: Pillow's GRACE opener gives the
planes, ``cv2.transform`` undoes G-YUV with the file's own weights, and the
imread flags (:class:`._flags.ReadMode`) decide channels, scale and orientation.
Files that are not GRACE never come here (see :func:`grace_opencv.imdecode`).
"""

from __future__ import annotations

import io
import os
from typing import Any

import cv2
import numpy as np
from PIL import Image

from grace_opencv._flags import ReadMode
from pillow_grace.core import _pixels, colour
from pillow_grace.core.errors import GraceFileError
from pillow_grace.core.metadata import GraceMetadata
from pillow_grace.plugin import GraceImageFile

_EXIF_ORIENTATION = 0x0112


def decode_grace(
    data: bytes, meta: GraceMetadata, flags: int, *, partial: bool, plain: Any
) -> np.ndarray | None:
    """Decode a file :func:`pillow_grace.core.metadata.inspect` found to be GRACE.

    ``partial``: decode what a truncated file holds (``imread``), else None
    (``imdecode``), as cv2 does. ``plain`` is cv2's own decode of the file,
    used for BT.601 weights: then libjpeg's YCbCr->RGB is the inverse."""
    if colour.is_libjpeg_transform(meta.weights):
        return plain()
    mode = ReadMode(flags)
    try:
        return _decode_planes(data, mode)
    except _Truncated:
        if not partial:
            return None
    # libjpeg's own reader (cv2's) ends a truncated scan with a fake end of
    # image and decodes the rest as grey; appending one does the same here.
    try:
        return _decode_planes(data + b"\xff\xd9", mode)
    except _Truncated:
        return None


class _Truncated(Exception):
    """The scan data is truncated or corrupt (not the headers)."""


def max_pixels() -> int:
    """cv2's limit on the pixels of an image it decodes (CV_IO_MAX_IMAGE_PIXELS,
    2**30 unless the OPENCV_IO_MAX_IMAGE_PIXELS environment variable says otherwise)."""
    try:
        return int(os.environ.get("OPENCV_IO_MAX_IMAGE_PIXELS", "") or (1 << 30))
    except ValueError:
        return 1 << 30


def _open(data: bytes) -> Image.Image:
    """The GRACE opener's image of ``data``, with cv2's size limit instead of
    Pillow's decompression-bomb limit: cv2 decodes anything up to
    :func:`max_pixels` and raises ``cv2.error`` above it."""
    try:
        im = Image.open(io.BytesIO(data), formats=["GRACE"])
    except Image.DecompressionBombError:
        # Raised after the opener accepted the file: only the size was refused.
        im = GraceImageFile(io.BytesIO(data))
    w, h = im.size
    if w * h > max_pixels():
        im.close()
        raise cv2.error(
            f"GRACE file of {w}x{h} = {w * h} pixels is over cv2's limit of {max_pixels()} "
            "(CV_IO_MAX_IMAGE_PIXELS; cv2.imdecode raises the same for any such file)"
        )
    return im


def _decode_planes(data: bytes, mode: ReadMode) -> np.ndarray:
    try:
        im = _open(data)
    except (OSError, SyntaxError, ValueError) as e:
        if isinstance(e, GraceFileError):
            raise
        raise GraceFileError(f"GRACE file with broken JPEG headers ({e}); refusing to decode it") from None
    if not isinstance(im, GraceImageFile):
        im.close()
        raise GraceFileError("GRACE metadata segment in a file Pillow does not read as GRACE; refusing it")
    with im:
        w0, h0 = im.size
        orientation = 1 if not mode.orient else int(im.getexif().get(_EXIF_ORIENTATION, 1) or 1)
        coloured = im.mode == "RGB"
        draft_size = None
        if mode.reduce > 1:
            draft_size = (max(1, w0 // mode.reduce), max(1, h0 // mode.reduce))
        im.draft("YCbCr" if coloured else "L", draft_size)
        if coloured:
            # libjpeg writes the planes into this thread's reused buffer
            pixels = _pixels.scratch_pixels(*im.size)
            im.im = _pixels.scratch_image("YCbCr", *im.size).im
        try:
            im.load()
        except OSError as e:
            raise _Truncated(str(e)) from None
        if coloured:
            out: np.ndarray = np.empty((im.size[1], im.size[0], 3), np.uint8)
            inverse = colour.cv2_inverse(im.grace.weights, "RGB" if mode.rgb else "BGR")
            colour.transform_rows(pixels, inverse, out)
            if mode.want == "grey":
                out = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY if mode.rgb else cv2.COLOR_BGR2GRAY)
        else:
            out = np.array(im)  # writable copy, as cv2 returns
            if mode.want == "colour":
                out = cv2.cvtColor(out, cv2.COLOR_GRAY2BGR)
    if mode.reduce > 1:
        want = (-(-w0 // mode.reduce), -(-h0 // mode.reduce))
        if (out.shape[1], out.shape[0]) != want:  # tiny image: DCT scaling stopped early
            out = cv2.resize(out, want, interpolation=cv2.INTER_AREA)
    return _orient(out, orientation)


def _orient(img: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1..8) the way cv2.imread does."""
    if orientation in (2, 4, 5, 7):  # mirrored ones
        img = img[:, ::-1] if orientation == 2 else img
        img = img[::-1] if orientation == 4 else img
    if orientation == 3:
        img = img[::-1, ::-1]
    elif orientation in (5, 6, 7, 8):
        t = img.swapaxes(0, 1)
        img = {5: t, 6: t[:, ::-1], 7: t[::-1, ::-1], 8: t[::-1]}[orientation]
    return np.ascontiguousarray(img)

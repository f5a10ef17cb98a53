"""Pillow's pixel memory as numpy buffers, without Pillow's copies.

Pillow stores RGB, YCbCr and RGBX images as 4-byte pixels (three samples
and a padding byte). The colour step of GRACE works on that layout in
numpy: a decoder writes planes straight into a numpy buffer that is an
image (:func:`image_on`), the colour conversion runs where they lie, and an
encoder reads the caller's pixels in place when Pillow can lend them
(:func:`borrowed_pixels`). Each copy of a 2 Mpx frame avoided is about
half a millisecond, a few per cent of a JPEG encode (docs/speed.md).

Reused per-thread buffers (:func:`scratch_pixels`) serve frames consumed at
once (an encoder's planes): fresh multi-megabyte buffers per frame cost
more in page faults than the colour conversion itself.
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np
from PIL import Image


def new_pixels(w: int, h: int) -> np.ndarray:
    """A zeroed (h, w, 4) uint8 buffer in Pillow's pixel layout for 3-band
    modes (three samples and a padding byte), for :func:`image_on`."""
    return np.zeros((h, w, 4), np.uint8)


def image_on(pixels: np.ndarray, mode: str) -> Image.Image:
    """An Image of ``mode`` (RGB, YCbCr or RGBX) whose pixels *are* ``pixels``,
    an (h, w, 4) C-contiguous uint8 array (no copy; the image keeps it alive).

    This is how the colour step avoids copies: a decoder writes the planes
    straight into such an image, cv2 converts them where they lie, and the
    same memory becomes the decoded RGB image (or, encoding, the planes
    libjpeg reads). Pillow stores RGB and YCbCr as 4-byte pixels, so the
    buffer is Pillow's own layout; ``Image.core.map_buffer`` is the
    mechanism behind ``Image.frombuffer``, which only lacks a public way to
    name these modes."""
    h, w = pixels.shape[:2]
    if pixels.shape != (h, w, 4) or pixels.dtype != np.uint8 or not pixels.flags.c_contiguous:
        raise ValueError(
            f"image_on needs a C-contiguous (h, w, 4) uint8 array, got {pixels.dtype} {pixels.shape}"
        )
    if mode not in ("RGB", "YCbCr", "RGBX"):
        raise ValueError(f"image_on maps 3-band modes in 4-byte pixels (RGB, YCbCr, RGBX), got {mode!r}")
    return Image.Image()._new(Image.core.map_buffer(pixels, (w, h), "raw", 0, (mode, 0, 1)))


def copy_pixels(image: Image.Image, pixels: np.ndarray) -> np.ndarray:
    """Copy a loaded 3-band image's raw 4-byte pixels into ``pixels`` (h, w, 4).

    The core paste copies bytes between images of equal pixel size without
    looking at the mode, so RGB or YCbCr land unconverted."""
    w, h = image.size
    image_on(pixels, "RGBX").im.paste(image.im, (0, 0, w, h))
    return pixels


class _ArrowArray(ctypes.Structure):
    """The Arrow C data interface's ``struct ArrowArray`` (a stable ABI)."""


_ArrowArray._fields_ = [
    ("length", ctypes.c_int64),
    ("null_count", ctypes.c_int64),
    ("offset", ctypes.c_int64),
    ("n_buffers", ctypes.c_int64),
    ("n_children", ctypes.c_int64),
    ("buffers", ctypes.POINTER(ctypes.c_void_p)),
    ("children", ctypes.POINTER(ctypes.POINTER(_ArrowArray))),
    ("dictionary", ctypes.c_void_p),
    ("release", ctypes.c_void_p),
    ("private_data", ctypes.c_void_p),
]

_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


def borrowed_pixels(image: Image.Image) -> np.ndarray | None:
    """A read-only (h, w, 4) view of a loaded 3-band image's own pixels, or
    None where Pillow cannot lend them.

    Pillow exports an image whose rows are one block of memory through the
    Arrow C data interface (``__arrow_c_array__``, Pillow 11.2+) as a
    fixed-size list of 4 bytes per pixel. The view holds the export (the
    capsule) for as long as it lives, so the memory stays valid even if the
    image is closed; when the view goes, the capsule releases the export as
    the interface specifies. Large images (rows in several blocks), older
    Pillow or any other layout give None, and the caller copies instead."""
    w, h = image.size
    try:
        capsule = image.im.__arrow_c_array__()
        # a capsule of another name (not the interface's array) raises ValueError here
        array = _ArrowArray.from_address(_capsule_pointer(capsule, b"arrow_array"))
    except (AttributeError, ValueError, TypeError):
        return None
    if not (array.length == w * h and array.offset == 0 and array.n_children == 1):
        return None
    child = array.children[0].contents
    if not (child.length == 4 * w * h and child.offset == 0 and child.n_buffers == 2 and child.buffers[1]):
        return None
    data = (ctypes.c_uint8 * (4 * w * h)).from_address(child.buffers[1])
    data._export = capsule  # type: ignore[attr-defined]  # lives as long as the view
    view = np.frombuffer(memoryview(data), np.uint8).reshape(h, w, 4)
    view.flags.writeable = False
    return view


class _Scratch(threading.local):
    """Per-thread buffers, one per (name, shape), for the shapes seen last.
    A camera loop reuses them; fresh multi-megabyte buffers per frame cost
    more in page faults than the colour conversion itself (docs/speed.md).
    Several shapes are kept, not one, so that a loop alternating two frame
    sizes (a stream and its thumbnails) does not reallocate every call; the
    least recently used go first once they hold more than ``CAP`` bytes, so
    a library of photos of many sizes does not pile them up."""

    #: Bytes of buffers kept per thread beyond the one just asked for.
    CAP = 128 << 20

    def __init__(self) -> None:
        self.arrays: dict[tuple[str, tuple[int, ...], str], np.ndarray] = {}
        self.images: dict[tuple[str, tuple[int, ...], str], Image.Image] = {}

    def get(self, key: str, shape: tuple[int, ...], dtype: type = np.uint8) -> np.ndarray:
        name = (key, shape, np.dtype(dtype).str)
        a = self.arrays.pop(name, None)
        if a is None:
            a = np.empty(shape, dtype)
            kept = sum(b.nbytes for b in self.arrays.values())
            while self.arrays and kept > self.CAP:
                oldest = next(iter(self.arrays))
                kept -= self.arrays.pop(oldest).nbytes
                self.images = {k: v for k, v in self.images.items() if k[:2] != oldest[:2]}
        self.arrays[name] = a  # most recently used last
        return a

    def image(self, key: str, mode: str, w: int, h: int) -> Image.Image:
        pixels = self.get(key, (h, w, 4))
        im = self.images.get((key, (h, w, 4), mode))
        if im is None:
            im = self.images[(key, (h, w, 4), mode)] = image_on(pixels, mode)
        return im


_scratch = _Scratch()


def scratch_pixels(w: int, h: int, key: str = "frame") -> np.ndarray:
    """This thread's reusable (h, w, 4) buffer named ``key``, overwritten by
    the next user in this thread (an encoder's planes, consumed at once). A
    step that reads one buffer while writing another (the ROI transform
    reads the planes in "frame") names its own."""
    return _scratch.get(key, (h, w, 4))


def scratch_image(mode: str, w: int, h: int, key: str = "frame") -> Image.Image:
    """An image of ``mode`` on :func:`scratch_pixels` ``key`` (see :func:`image_on`)."""
    return _scratch.image(key, mode, w, h)


def scratch_plane(w: int, h: int, key: str) -> np.ndarray:
    """This thread's reusable (h, w) uint8 plane named ``key`` (contents undefined)."""
    return _scratch.get(key, (h, w))


def scratch_floats(key: str, shape: tuple[int, ...]) -> np.ndarray:
    """This thread's reusable float32 array for ``key`` and ``shape`` (contents undefined),
    for intermediate results consumed within one call."""
    return _scratch.get(key, shape, np.float32)


def strip_buffers(w: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """This thread's two (rows, w, 3) temporaries for a strip-wise conversion."""
    return _scratch.get("strip-in", (rows, w, 3)), _scratch.get("strip-out", (rows, w, 3))

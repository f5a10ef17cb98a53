"""Where to spend the bits of a camera stream: ROI sources for ``roi=``.

Three sources a deployment has, each a per-block boolean map that
``grace_opencv.imencode(..., roi=map)`` (or ``img.save(..., roi=map)``) takes
directly (one value per ``block`` x ``block`` pixels):

* :class:`MotionRoi`, on the device: OpenCV's MOG2 background subtractor on
  a downscaled frame (the subtractor costs per pixel; a person is still tens
  of pixels tall at half size), its foreground turned into blocks and dilated
  by a margin, with a full-frame ROI every ``refresh`` frames so that objects
  that stopped moving are still sent well now and then.
* :class:`FeedbackRoi`, from the server: the model's boxes (a detector) or
  foreground mask (a segmenter) on a previously *decoded* frame, arriving
  ``lag`` frames late (a round trip), dilated by a margin for the motion since.
* :func:`union` of any of them.

Importance per block for a classifier, where neither motion nor boxes apply,
is not here: docs/roi.md says why it was left out.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

import cv2
import numpy as np

__all__ = ["FeedbackRoi", "MotionRoi", "block_grid", "boxes_to_blocks", "mask_to_blocks", "union"]


def block_grid(width: int, height: int, block: int) -> tuple[int, int]:
    """(rows, columns) of ``block`` x ``block`` cells covering a frame."""
    return -(-height // block), -(-width // block)


def _check_block(block: int) -> int:
    if block not in (8, 16):
        raise ValueError(f"block must be 8 or 16 (the JPEG block or the 4:2:0 MCU), got {block!r}")
    return block


class MotionRoi:
    """Foreground blocks of a fixed camera's frames (call once per frame, in order).

    ``margin``: blocks added around each foreground block (a walking person
    moves a few pixels a frame, and the detector sees context). ``refresh``:
    every that many frames the whole frame is the ROI (0: never); the first
    frame always is (the background model knows nothing yet). ``scale``: the
    subtractor runs on the frame resized by this factor. ``min_fraction``: a
    block is foreground when at least this share of its pixels is."""

    def __init__(
        self,
        *,
        block: int = 16,
        margin: int = 1,
        refresh: int = 0,
        scale: float = 0.25,
        history: int = 200,
        var_threshold: float = 16.0,
        min_fraction: float = 0.05,
    ) -> None:
        if margin < 0 or refresh < 0:
            raise ValueError(f"margin and refresh must be >= 0, got margin={margin}, refresh={refresh}")
        if not 0 < scale <= 1:
            raise ValueError(f"scale must be in (0, 1], got {scale}")
        self.block = _check_block(block)
        self.margin = margin
        self.refresh = refresh
        self.scale = scale
        self.min_fraction = min_fraction
        self._subtractor = cv2.createBackgroundSubtractorMOG2(history, var_threshold, False)
        self._kernel = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)
        self.frame_index = 0

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """The boolean block map of this frame (BGR or grey uint8, as cv2 reads it)."""
        h, w = frame.shape[:2]
        size = (max(1, round(w * self.scale)), max(1, round(h * self.scale)))
        small = frame if self.scale == 1 else cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        fg = self._subtractor.apply(small)
        index = self.frame_index
        self.frame_index += 1
        rows, cols = block_grid(w, h, self.block)
        if index == 0 or (self.refresh and index % self.refresh == 0):
            return np.ones((rows, cols), bool)
        # Share of foreground pixels per block: INTER_AREA averages exactly that.
        share = cv2.resize(fg, (cols, rows), interpolation=cv2.INTER_AREA)
        mask = (share >= 255 * self.min_fraction).astype(np.uint8)
        if self.margin:
            mask = np.asarray(cv2.dilate(mask, self._kernel))
        return mask.astype(bool)


class FeedbackRoi:
    """Blocks of the server's detections, ``lag`` frames late.

    Per frame: :meth:`mask` gives the map to encode this frame with (what the
    server sent about frame ``t - lag``), then :meth:`push` hands over the
    boxes the server found on this frame's *decoded* image, or
    :meth:`push_mask` a segmenter's foreground mask. Until the first answer
    arrives, and for a frame whose answer is missing, the whole frame is the
    ROI (the safe side). ``margin`` is in pixels."""

    def __init__(self, *, lag: int = 1, margin: int = 16, block: int = 16) -> None:
        if lag < 1:
            raise ValueError(f"lag must be >= 1 frame (the server sees a frame after it is sent), got {lag}")
        if margin < 0:
            raise ValueError(f"margin must be >= 0 pixels, got {margin}")
        self.lag = lag
        self.margin = margin
        self.block = _check_block(block)
        self._sent: deque[tuple[str, np.ndarray] | None] = deque(maxlen=lag)

    def push(self, boxes: Sequence[Sequence[float]] | np.ndarray | None) -> None:
        """The server's boxes (x0, y0, x1, y1, ... in frame pixels) on the last decoded frame;
        None when no answer came back."""
        if boxes is None:
            self._sent.append(None)
            return
        arr = np.asarray(boxes, np.float64)
        self._sent.append(("boxes", arr.reshape(len(arr), -1)[:, :4] if arr.size else np.zeros((0, 4))))

    def push_mask(self, foreground: np.ndarray | None) -> None:
        """A segmenter's foreground (2-D, true where something that matters is)
        on the last decoded frame, covering the whole frame at any resolution;
        None when no answer came back."""
        if foreground is None:
            self._sent.append(None)
            return
        arr = np.asarray(foreground)
        if arr.ndim != 2 or arr.size == 0:
            raise ValueError(f"foreground must be a 2-D mask over the frame, got shape {arr.shape}")
        self._sent.append(("mask", arr.astype(bool)))

    def mask(self, width: int, height: int) -> np.ndarray:
        rows, cols = block_grid(width, height, self.block)
        if len(self._sent) < self.lag or self._sent[0] is None:
            return np.ones((rows, cols), bool)
        kind, sent = self._sent[0]
        if kind == "boxes":
            return boxes_to_blocks(sent, width, height, self.block, self.margin)
        return mask_to_blocks(sent, width, height, self.block, self.margin)


def boxes_to_blocks(
    boxes: Iterable[Sequence[float]], width: int, height: int, block: int, margin: float = 0
) -> np.ndarray:
    """Boolean block map of the blocks that boxes (x0, y0, x1, y1), grown by ``margin`` pixels, touch."""
    rows, cols = block_grid(width, height, block)
    out = np.zeros((rows, cols), bool)
    for x0, y0, x1, y1 in (tuple(b[:4]) for b in boxes):
        c0, r0 = int(max(x0 - margin, 0) // block), int(max(y0 - margin, 0) // block)
        c1 = int(np.ceil(min(x1 + margin, width) / block))
        r1 = int(np.ceil(min(y1 + margin, height) / block))
        out[r0:max(r1, r0), c0:max(c1, c0)] = True
    return out


def mask_to_blocks(
    foreground: np.ndarray, width: int, height: int, block: int, margin: float = 0
) -> np.ndarray:
    """Boolean block map of the blocks that a foreground mask (covering the
    frame, at any resolution) touches, grown by ``margin`` pixels."""
    rows, cols = block_grid(width, height, block)
    full = cv2.resize(foreground.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST)
    padded = np.zeros((rows * block, cols * block), np.uint8)
    padded[:height, :width] = full
    out = padded.reshape(rows, block, cols, block).max(axis=(1, 3))
    grow = int(np.ceil(margin / block))
    if grow:
        out = np.asarray(cv2.dilate(out, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)))
    return out.astype(bool)


def union(*maps: np.ndarray) -> np.ndarray:
    """Blocks in any of the maps (all of one shape)."""
    if not maps:
        raise ValueError("union needs at least one block map")
    shapes = {m.shape for m in maps}
    if len(shapes) != 1:
        raise ValueError(f"block maps differ in shape: {sorted(shapes)}; build them with the same block size")
    return np.logical_or.reduce(maps)

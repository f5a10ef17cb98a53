"""Where to spend the bits of a camera stream: ROI sources for ``roi=``.

Three sources a deployment has, each a per-block boolean map that
``grace_opencv.imencode(..., roi=map)`` (or ``img.save(..., roi=map)``) takes
directly (one value per ``block`` x ``block`` pixels):

* :class:`MotionRoi`, on the device: OpenCV's MOG2 background subtractor on
  a downscaled frame (the subtractor costs per pixel; a person is still tens
  of pixels tall at half size), its foreground turned into blocks and dilated
  by a margin, with a full-frame ROI every ``refresh`` frames so that objects
  that stopped moving are still sent well now and then.
* :class:`CameraMotionRoi`, on the device, for a camera that moves (pans,
  shakes, zooms): the camera's global motion between consecutive downscaled
  grey frames is estimated and undone first, then the blocks where the
  compensated difference is large are the ROI, with the same margin,
  refresh and first-frame rules. MOG2 models each pixel's history in place,
  so when the whole scene slides it marks the whole frame.
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

__all__ = ["CameraMotionRoi", "FeedbackRoi", "MotionRoi", "block_grid", "boxes_to_blocks", "mask_to_blocks",
           "union"]


def block_grid(width: int, height: int, block: int) -> tuple[int, int]:
    """(rows, columns) of ``block`` x ``block`` cells covering a frame."""
    return -(-height // block), -(-width // block)


def _check_block(block: int) -> int:
    if block not in (8, 16):
        raise ValueError(f"block must be 8 or 16 (the JPEG block or the 4:2:0 MCU), got {block!r}")
    return block


class _BlockMotion:
    """What both motion sources share: the block grid, the margin, the refresh and first-frame
    rule, the working scale, and the step from a per-pixel change map to a dilated block map."""

    def __init__(self, block: int, margin: int, refresh: int, scale: float, min_fraction: float) -> None:
        if margin < 0 or refresh < 0:
            raise ValueError(f"margin and refresh must be >= 0, got margin={margin}, refresh={refresh}")
        if not 0 < scale <= 1:
            raise ValueError(f"scale must be in (0, 1], got {scale}")
        if not 0 < min_fraction <= 1:
            raise ValueError(f"min_fraction must be a share of a block's pixels in (0, 1], "
                             f"got {min_fraction}")
        self.block = _check_block(block)
        self.margin = margin
        self.refresh = refresh
        self.scale = scale
        self.min_fraction = min_fraction
        self._kernel = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)
        self.frame_index = 0

    def _small_size(self, width: int, height: int) -> tuple[int, int]:
        return max(1, round(width * self.scale)), max(1, round(height * self.scale))

    def _whole_frame(self, index: int) -> bool:
        """The first frame, and every ``refresh``-th, is sent whole."""
        return index == 0 or bool(self.refresh and index % self.refresh == 0)

    def _blocks(self, changed: np.ndarray, rows: int, cols: int) -> np.ndarray:
        """Block map of a small uint8 change map (255 where changed): blocks with at least
        ``min_fraction`` changed, dilated by ``margin``."""
        # Share of changed pixels per block: INTER_AREA averages exactly that.
        share = cv2.resize(changed, (cols, rows), interpolation=cv2.INTER_AREA)
        mask = (share >= 255 * self.min_fraction).astype(np.uint8)
        if self.margin:
            mask = np.asarray(cv2.dilate(mask, self._kernel))
        return mask.astype(bool)


class MotionRoi(_BlockMotion):
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
        super().__init__(block, margin, refresh, scale, min_fraction)
        self._subtractor = cv2.createBackgroundSubtractorMOG2(history, var_threshold, False)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """The boolean block map of this frame (BGR or grey uint8, as cv2 reads it)."""
        h, w = frame.shape[:2]
        size = self._small_size(w, h)
        small = frame if self.scale == 1 else cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        fg = self._subtractor.apply(small)
        index = self.frame_index
        self.frame_index += 1
        rows, cols = block_grid(w, h, self.block)
        if self._whole_frame(index):
            return np.ones((rows, cols), bool)
        return self._blocks(fg, rows, cols)


class CameraMotionRoi(_BlockMotion):
    """Blocks that move against the camera's own motion (call once per frame, in order).

    Why not :class:`MotionRoi` on a moving camera: a background model holds
    each pixel's history at a fixed place, so when the camera pans every
    textured pixel changes and nearly the whole frame is foreground. Here the
    previous frame is first brought into the current one's place: corners of
    the previous downscaled grey frame (``cv2.goodFeaturesToTrack``) are
    tracked into the current one (pyramidal Lucas-Kanade) and a similarity
    transform (shift, rotation, zoom) is fitted with RANSAC
    (``cv2.estimateAffinePartial2D``), so that corners on moving objects are
    outliers as long as the background holds most of them. A pure shift
    (``cv2.phaseCorrelate``) would miss zoom and roll, and a large object
    drags its one peak; ECC iterates over every pixel and costs more. The
    previous frame warped by that transform is subtracted from the current
    one, and a block is in the ROI when at least ``min_fraction`` of its
    pixels differ by more than ``threshold`` grey levels, or come newly into
    view at the frame's edge (new content may hold new objects). Frame
    differencing rather than a warped background model: no model to warp or
    to keep, one frame of memory, and a scene cut shows up as a whole-frame
    difference by itself.

    Where tracking fails although the previous frame had corners (a cut, a
    blur, a jolt), fewer than ``min_inliers`` corners agree on one motion and
    the whole frame is the ROI (the safe side); where the previous frame has
    too few corners to track (a flat wall), the camera is taken as still.
    ``margin``, ``refresh``, ``block`` and ``min_fraction`` are those of
    :class:`MotionRoi`; ``scale``: everything runs on the grey frame resized
    by this factor (tracking and warping cost per pixel; a quarter is what MOG2 uses);
    ``corners``: how many corners are tracked. After each call
    :attr:`transform` holds the fitted 2x3 transform in frame pixels (previous
    frame to current), or None where none was fitted."""

    def __init__(
        self,
        *,
        block: int = 16,
        margin: int = 1,
        refresh: int = 0,
        scale: float = 0.25,
        threshold: float = 24.0,
        min_fraction: float = 0.05,
        corners: int = 80,
        min_inliers: int = 8,
    ) -> None:
        super().__init__(block, margin, refresh, scale, min_fraction)
        if not 0 < threshold < 255:
            raise ValueError(f"threshold must be a grey-level difference in (0, 255), got {threshold}")
        if corners < 3 or not 3 <= min_inliers <= corners:
            raise ValueError(f"corners must be >= 3 and min_inliers in 3..corners (a similarity transform "
                             f"needs 2 points, RANSAC a third to agree), got corners={corners}, "
                             f"min_inliers={min_inliers}")
        self.threshold = threshold
        self.corners = corners
        self.min_inliers = min_inliers
        self._previous: np.ndarray | None = None
        self.transform: np.ndarray | None = None

    def _grey(self, frame: np.ndarray) -> np.ndarray:
        if frame.ndim not in (2, 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame must be a uint8 BGR or grey image (as cv2 reads it), "
                             f"got dtype {frame.dtype} and shape {frame.shape}")
        grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        size = self._small_size(grey.shape[1], grey.shape[0])
        return grey if self.scale == 1 else cv2.resize(grey, size, interpolation=cv2.INTER_AREA)

    def _fit(self, previous: np.ndarray, current: np.ndarray) -> np.ndarray | None:
        """Previous-to-current similarity transform on the small frames; identity where the
        previous frame has too few corners to track, None where the corners disagree."""
        found = cv2.goodFeaturesToTrack(previous, self.corners, 0.01, 4)
        if found is None or len(found) < self.min_inliers:
            return np.eye(2, 3)
        tracked, status, _err = cv2.calcOpticalFlowPyrLK(previous, current, found, None,
                                                         winSize=(15, 15), maxLevel=2)
        ok = status.ravel() == 1
        if ok.sum() < self.min_inliers:
            return None
        fitted, inliers = cv2.estimateAffinePartial2D(found[ok], tracked[ok], method=cv2.RANSAC,
                                                      ransacReprojThreshold=1.0)
        if fitted is None or int(inliers.sum()) < self.min_inliers:
            return None
        return np.asarray(fitted, np.float64)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """The boolean block map of this frame (BGR or grey uint8, as cv2 reads it)."""
        h, w = frame.shape[:2]
        rows, cols = block_grid(w, h, self.block)
        current = self._grey(frame)
        previous, self._previous = self._previous, current
        index = self.frame_index
        self.frame_index += 1
        self.transform = None
        if previous is None or previous.shape != current.shape:
            return np.ones((rows, cols), bool)
        fitted = self._fit(previous, current)
        if fitted is not None:
            self.transform = fitted.copy()
            self.transform[:, 2] /= self.scale
        if self._whole_frame(index) or fitted is None:
            return np.ones((rows, cols), bool)
        size = (current.shape[1], current.shape[0])
        # What comes into view at an edge is marked by ``seen`` alone, whatever its brightness
        # (hence replicated edges rather than black): a small pixel counts as new when more than
        # a quarter of it was outside the previous frame, so that a still camera's jitter of a
        # fraction of a pixel does not mark every edge.
        warped = cv2.warpAffine(previous, fitted, size, flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE)
        seen = cv2.warpAffine(np.full_like(previous, 255), fitted, size, flags=cv2.INTER_LINEAR)
        moved = (cv2.absdiff(current, warped) > self.threshold) | (seen < 192)
        return self._blocks(moved.astype(np.uint8) * 255, rows, cols)


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

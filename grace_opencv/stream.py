"""Encoding a camera stream frame by frame with ROI coding: what ``grace stream`` runs.

Device-side only (cv2, numpy, Pillow; no torch): frames come from a video
file (``cv2.VideoCapture``) or a folder of images (sorted by name), each is
written as a GRACE JPEG with the ROI of :class:`~grace_opencv.roi.MotionRoi`
(or none), and, for comparison, as cv2's own JPEG at the same quality
(4:2:0, optimised Huffman tables).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

import grace_opencv as gcv
from grace_opencv.roi import CameraMotionRoi, MotionRoi
from pillow_grace.core.codec import resolve_strategy

#: Extensions read from a folder of frames.
FRAME_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
#: ``roi=`` sources of :func:`encode_stream` (and ``grace stream --roi``): a fixed camera's
#: motion, a moving camera's motion (its own motion undone first), or none (plain GRACE).
ROI_SOURCES = ("motion", "camera-motion", "none")


@dataclass(frozen=True)
class FrameResult:
    index: int
    grace_bytes: int
    jpeg_bytes: int
    roi_share: float
    """Share of the frame's blocks inside the ROI (1.0 without ROI)."""


def count_frames(source: str | os.PathLike[str]) -> int | None:
    """Frames in a folder, or the container's frame count of a video (None if unknown)."""
    path = Path(source)
    if path.is_dir():
        return len(_frame_files(path))
    cap = cv2.VideoCapture(str(path))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    return n if n > 0 else None


def _frame_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in FRAME_EXTENSIONS)


def read_frames(source: str | os.PathLike[str]) -> Iterator[np.ndarray]:
    """BGR frames of a video file or of a folder of images, in order."""
    path = Path(source)
    if path.is_dir():
        files = _frame_files(path)
        if not files:
            raise ValueError(f"{path} has no image files ({', '.join(FRAME_EXTENSIONS)})")
        for f in files:
            frame = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if frame is None:
                raise ValueError(f"cannot read {f} as an image")
            yield frame
        return
    if not path.is_file():
        raise FileNotFoundError(f"no video file or folder of frames at {path}")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"OpenCV cannot open {path} as a video (unknown format or no backend)")
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            yield frame
    finally:
        cap.release()


def encode_stream(
    source: str | os.PathLike[str],
    strategy: Any,
    *,
    quality: int = 75,
    roi: str = "motion",
    background: str | None = None,
    roi_map: bool = False,
    refresh: int = 30,
    out: str | os.PathLike[str] | None = None,
    max_frames: int | None = None,
    on_frame: Callable[[FrameResult], None] | None = None,
) -> list[FrameResult]:
    """Encode every frame; ``out`` (a folder) receives ``frame-000000.jpg``, ...

    ``roi``: "motion" (:class:`MotionRoi`, for a fixed camera),
    "camera-motion" (:class:`CameraMotionRoi`, for a camera that pans or
    shakes), both with the whole frame every ``refresh`` frames, or "none"
    (plain GRACE). ``roi_map``: each file also says which blocks were coded as
    background, for a receiver that completes them from earlier frames
    (:class:`pillow_grace.BackgroundFill`, ``grace fill``)."""
    if roi not in ROI_SOURCES:
        raise ValueError(f"roi must be one of {', '.join(ROI_SOURCES)}, got {roi!r}")
    motion: MotionRoi | CameraMotionRoi | None = None
    if roi == "motion":
        motion = MotionRoi(refresh=refresh)
    elif roi == "camera-motion":
        motion = CameraMotionRoi(refresh=refresh)
    folder = Path(out) if out is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    results = []
    for i, frame in enumerate(read_frames(source)):
        if max_frames is not None and i >= max_frames:
            break
        if i == 0 and strategy is not None:
            # Looked up once, not per frame (a name is searched for in the registry's
            # sources on every call), and only once the source has given a frame.
            strategy = resolve_strategy(strategy)
        mask = motion(frame) if motion is not None else None
        _, data = gcv.imencode(".jpg", frame, params, strategy=strategy, roi=mask, background=background,
                               roi_map=roi_map)
        _, jpeg = cv2.imencode(".jpg", frame, [*params, cv2.IMWRITE_JPEG_OPTIMIZE, 1])
        if folder is not None:
            (folder / f"frame-{i:06d}.jpg").write_bytes(data.tobytes())
        r = FrameResult(i, len(data), len(jpeg), 1.0 if mask is None else float(mask.mean()))
        results.append(r)
        if on_frame is not None:
            on_frame(r)
    if not results:
        raise ValueError(f"{source} has no frames")
    return results

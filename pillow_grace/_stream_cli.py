"""``grace stream`` and ``grace fill``: the two ends of a region-of-interest camera stream.

``grace stream`` is the device (OpenCV reads the video; motion ROI; GRACE
files), ``grace fill`` the server that completes background blocks from
earlier frames (:class:`pillow_grace.BackgroundFill`). Kept apart from
:mod:`pillow_grace.cli` so that each file stays readable; the argument types
shared with the other commands are passed in.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pillow_grace.core.fill import DEFAULT_TOLERANCE, BackgroundFill, check_tolerance


def cmd_stream(args: argparse.Namespace) -> int:
    from grace_opencv.stream import count_frames, encode_stream
    from pillow_grace.evaluate.progress import make_progress

    total = count_frames(args.input)
    if args.max_frames is not None and total is not None:
        total = min(total, args.max_frames)
    bar = make_progress(True, total or 0, "grace stream", unit="frame")
    try:
        results = encode_stream(args.input, args.strategy, quality=args.quality, roi=args.roi,
                                background=args.background, roi_map=args.roi_map, refresh=args.refresh,
                                out=args.out,
                                max_frames=args.max_frames, on_frame=lambda r: bar.update(1))
    finally:
        bar.close()
    grace = sum(r.grace_bytes for r in results) / len(results)
    jpeg = sum(r.jpeg_bytes for r in results) / len(results)
    share = sum(r.roi_share for r in results) / len(results)
    print(f"{len(results)} frames at quality {args.quality}, ROI {args.roi} (mean share {100 * share:.0f}%)")
    print(f"bytes per frame: GRACE {grace:.0f}, JPEG {jpeg:.0f} (cv2, 4:2:0, optimised); "
          f"saving {100 * (1 - grace / jpeg):.1f}%")
    if args.out:
        print(f"wrote {len(results)} JPEGs to {args.out}")
    return 0


def cmd_fill(args: argparse.Namespace) -> int:
    """Decode a folder of stream frames in name order with :class:`BackgroundFill`."""
    frames = sorted(p for p in Path(args.input).glob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    if not frames:
        print(f"grace fill: no .jpg files in {args.input}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    receiver = BackgroundFill(args.tolerance)
    shares = []
    for path in frames:
        receiver.decode(path).save(out / (path.stem + ".png"))
        if receiver.mapped:
            shares.append(receiver.filled_share)
    print(f"{len(frames)} frames to {out}; {len(shares)} carried an ROI map, and "
          f"{100 * sum(shares) / max(len(shares), 1):.0f}% of their background blocks were filled "
          "from earlier frames on average")
    return 0


def _tolerance(text: str) -> float:
    """--tolerance: checked by the receiver's own rule (:func:`.fill.check_tolerance`)."""
    try:
        return check_tolerance(float(text))
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected a finite number of quantization steps >= 0, "
                                         f"got {text!r}") from e



def add_parsers(sub: Any, *, quality: Callable[[str], int], positive: Callable[[str], int]) -> None:
    """Add ``stream`` and ``fill`` to the ``grace`` command's subparsers."""
    p = sub.add_parser("stream", help="encode a video or a folder of frames with region-of-interest GRACE "
                       "(needs OpenCV) and print the bytes per frame against JPEG")
    p.add_argument("input", help="a video file (anything cv2.VideoCapture reads) or a folder of frames")
    p.add_argument("--strategy", required=True, help="strategy name or path to a .json")
    p.add_argument("--quality", type=quality, default=75, help="GRACE and JPEG quality (default 75)")
    p.add_argument("--roi", choices=("motion", "camera-motion", "none"), default="motion",
                   help="motion: background subtraction on the device, for a fixed camera (default); "
                   "camera-motion: the camera's own motion undone first, for one that pans or shakes; "
                   "none: plain GRACE")
    p.add_argument("--background", help="how blocks outside the ROI are coded: dc, low[:K], coarse[:S]")
    p.add_argument("--roi-map", action="store_true",
                   help="write which blocks were coded as background, for `grace fill` (BackgroundFill)")
    p.add_argument("--refresh", type=positive, default=30, help="whole frame every N frames (default 30)")
    p.add_argument("--max-frames", type=positive, help="stop after this many frames")
    p.add_argument("--out", help="folder to write frame-000000.jpg, ... into")
    p.set_defaults(func=cmd_stream)

    p = sub.add_parser("fill", help="decode stream frames in order, completing background blocks from "
                       "earlier frames (files written with --roi-map)")
    p.add_argument("input", help="folder of .jpg frames, decoded in name order")
    p.add_argument("--out", required=True, help="folder to write the frames into as .png")
    p.add_argument("--tolerance", type=_tolerance, default=DEFAULT_TOLERANCE,
                   help="quantization steps a kept coefficient may differ from the reference's for its "
                   f"block to be filled (default {DEFAULT_TOLERANCE:g})")
    p.set_defaults(func=cmd_fill)


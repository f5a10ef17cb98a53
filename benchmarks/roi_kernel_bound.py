"""Would native code meet issue #19's device-cost goal? The ROI transform in plain C, timed.

    python benchmarks/roi_kernel_bound.py [--repeat 60] [--cflags "-O3"] [--one-core]

The goal: an encode with ``roi=`` at most 1.5x the same encode without
(``benchmarks/speed.py --group roi``, docs/measured/speed.md). The shipped
transform is numpy (and OpenCV where importable). This script compiles
benchmarks/roi_kernel_bound.c, the same transform in C (vertical transforms
over strips, the DCT's even/odd symmetry, pixels read and written in place in
Pillow's interleaved layout: no split or merge), swaps it in for the codec's
``roi.apply`` while timing, and prints, on the frame of speed.py's roi group
(vtest.avi frame 459 at 768x576, its MOG2 motion ROI, quality 20, the shipped
detector strategies):

* the encode without ROI, with the shipped ROI transform, and with the C one,
  as ratios to the first (min of ``--repeat`` runs, round-robin);
* how far the C kernel's planes are from numpy's: the two sum the same
  products in different orders, so a coefficient on a rounding tie can land
  on a neighbouring step and move its block's samples by a few levels.

It needs a C compiler (``cc``) and opencv-doc's vtest.avi; without them it
says so and stops. A measurement for a design decision: nothing in the package
uses the C file.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

if __name__ == "__main__":
    import _path  # noqa: F401  (the checkout on sys.path)

from pillow_grace.core import _pixels, _truncation, colour
from pillow_grace.core import roi as roi_module
from pillow_grace.core.roimap import RoiMap, from_groups
from pillow_grace.core.strategy import SUBSAMPLING_FACTORS

HERE = Path(__file__).resolve().parent


def build(cflags: str, out: Path) -> ctypes.CDLL:
    """The C kernel compiled into ``out`` with ``cflags``."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise SystemExit("no C compiler (cc or gcc) on PATH: nothing to measure")
    lib = out / "roi_kernel_bound.so"
    subprocess.run([cc, *cflags.split(), "-fno-math-errno", "-shared", "-fPIC", "-o", str(lib),
                    str(HERE / "roi_kernel_bound.c"), "-lm"], check=True)
    dll = ctypes.CDLL(str(lib))
    dll.truncate_component.restype = ctypes.c_int
    dll.truncate_component.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_ssize_t,
                                       ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                       ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    return dll


def native_apply(dll: ctypes.CDLL) -> Callable[..., tuple[Image.Image, RoiMap | None]]:
    """``roi.apply`` with the split, the per-component numpy transform and the merge replaced
    by the C kernel writing Pillow's interleaved pixels in place (colour images only)."""

    def apply(planes: Image.Image, roi: roi_module.Roi | None, background: roi_module.Background | None,
              qtables: Sequence[Sequence[int]], subsampling: str) -> tuple[Image.Image, RoiMap | None]:
        if roi is None or planes.mode == "L":
            return roi_module.apply(planes, roi, background, qtables, subsampling)
        width, height = planes.size
        mcu = roi_module.mcu_size("YCbCr", subsampling)
        weights = roi.mcu_weights(width, height, mcu)
        if weights.min() >= 1:
            return planes, None
        policy = background or roi_module.parse_background(None)
        whole = weights[: height // mcu[1], : width // mcu[0]]
        groups = roi_module._groups(whole, policy)
        if not groups:
            return planes, None
        index = np.full(whole.shape, -1, np.int8)
        for g, (sel, _, _) in enumerate(groups):
            index[sel] = g
        ku, kv = _truncation._extent(max(keep for _, keep, _ in groups))
        if planes.mode == "RGB":
            planes = colour.rgb_to_planes(planes, colour.BT601, scratch=True)
        src = _pixels.borrowed_pixels(planes)
        if src is None:
            src = _pixels.copy_pixels(planes, _pixels.new_pixels(width, height))
        dst = _pixels.scratch_pixels(width, height, key="roi-native")
        np.copyto(dst, src)
        fx, fy = SUBSAMPLING_FACTORS[subsampling]
        for c in range(3):
            table = np.asarray(qtables[min(c, len(qtables) - 1)], np.float32)
            steps = np.stack([np.where(_truncation.ZIGZAG_RANK < keep, table * mult, 0).astype(np.float32)
                              for _, keep, mult in groups])
            # Luma: fy x fx blocks per MCU, one pixel per sample; chroma: one block per MCU,
            # an fy x fx cell of pixels per sample.
            per_mcu, cell = ((fy, fx), (1, 1)) if c == 0 else ((1, 1), (fy, fx))
            blocks = np.ascontiguousarray(np.repeat(np.repeat(index, per_mcu[0], axis=0), per_mcu[1], axis=1))
            failed = dll.truncate_component(src.ctypes.data + c, dst.ctypes.data + c, 4, dst.strides[0],
                                            cell[0], cell[1], blocks.shape[0], blocks.shape[1],
                                            blocks.ctypes.data, steps.ctypes.data, ku, kv)
            if failed:
                raise MemoryError("the C kernel could not allocate its strip buffers")
        out = _pixels.scratch_image("YCbCr", width, height, key="roi-native")
        return out, from_groups(mcu, weights.shape, groups)

    return apply


def minimum_ms(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Min over ``repeat`` round-robin runs of each function, in ms."""
    best = dict.fromkeys(fns, float("inf"))
    for fn in fns.values():
        fn()
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], (time.perf_counter() - start) * 1e3)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--cflags", default="-O3", help="compiler flags (e.g. '-O3 -march=native')")
    parser.add_argument("--one-core", action="store_true", help="pin to one CPU and one OpenCV thread")
    args = parser.parse_args()
    import cv2

    import grace_opencv as gcv
    from benchmarks.packaged_sets import SourceMissing, read_frames, source_root
    from grace_opencv.roi import MotionRoi
    from pillow_grace.core.codec import resolve_strategy
    from pillow_grace.core.options import EncodeOptions
    from pillow_grace.core.plan import EncodePlan

    if args.one_core:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        cv2.setNumThreads(1)
    try:
        by_index = read_frames(source_root("opencv-doc") / "examples/data/vtest.avi", range(400, 460))
    except SourceMissing as e:
        print(f"nothing to measure: {e}")
        return 1
    frames = [cv2.cvtColor(np.asarray(by_index[i]), cv2.COLOR_RGB2BGR) for i in sorted(by_index)]
    motion = MotionRoi(refresh=0)
    mask = [motion(f) for f in frames][-1]
    frame = frames[-1]
    params = [cv2.IMWRITE_JPEG_QUALITY, 20]
    shipped = roi_module.apply
    with tempfile.TemporaryDirectory() as tmp:
        fast = native_apply(build(args.cflags, Path(tmp)))
        print(f"C kernel: cc {args.cflags}; frame 459 of vtest.avi, {frame.shape[1]}x{frame.shape[0]}, "
              f"motion ROI {mask.mean():.0%} of the frame, quality 20, min of {args.repeat} runs"
              + (", one core" if args.one_core else ""))
        print("| strategy | no ROI (ms) | ROI, shipped (ms) | ROI, C kernel (ms) | shipped / no ROI "
              "| C / no ROI | samples that differ | largest difference |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name in ("yolov3-tiny-coco", "blazeface-short"):
            strat = resolve_strategy(name)

            def with_native(s: object = strat) -> object:
                roi_module.apply = fast  # type: ignore[assignment]
                try:
                    return gcv.imencode(".jpg", frame, params, strategy=s, roi=mask)
                finally:
                    roi_module.apply = shipped  # type: ignore[assignment]

            ms = minimum_ms({
                "plain": lambda s=strat: gcv.imencode(".jpg", frame, params, strategy=s),
                "shipped": lambda s=strat: gcv.imencode(".jpg", frame, params, strategy=s, roi=mask),
                "native": with_native,
            }, args.repeat)
            ycc = colour.rgb_to_planes(Image.fromarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)), strat.weights)
            plan = EncodePlan.build(strat, EncodeOptions(quality=20))
            # a copy: both transforms return per-thread buffers
            reference = np.array(shipped(ycc, roi_module.Roi(mask), None, plan.tables, plan.subsampling))
            ours = np.asarray(fast(ycc, roi_module.Roi(mask), None, plan.tables, plan.subsampling))
            diff = np.abs(ours.astype(np.int16) - reference)
            print(f"| {name} ({strat.subsampling}) | {ms['plain']:.2f} | {ms['shipped']:.2f} | "
                  f"{ms['native']:.2f} | {ms['shipped'] / ms['plain']:.2f}x | "
                  f"{ms['native'] / ms['plain']:.2f}x | {(diff > 0).mean():.4%} | {int(diff.max())} |")
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, cv2 {cv2.__version__}, "
          f"{len(os.sched_getaffinity(0))} CPU(s) allowed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Speed of GRACE encode and GRACE-aware decode against plain JPEG (issue #2, item 9).

    python benchmarks/speed.py [--repeat 40] [--strategy NAME]

Times, on a 2048x1024 photo (benchmarks/photo.py), min (and median) of N runs:

* Pillow's own JPEG encode (quality 90, 4:4:4, optimize) and decode: the
  baseline; cv2.imencode/imdecode at the same settings for the OpenCV path;
* GRACE through the Pillow adapter (``img.save(f, "GRACE")``, ``Image.open``)
  and through grace_opencv (``imencode``/``imdecode``), each with
  - "same tables": Pillow's quality-90 tables and G-YUV weights
    (0.25, 0.45, 0.30), so the only extra work is the colour step;
  - "<name> tables": each shipped strategy (its tables and weights; or
    --strategy; without any, tables allocated by the library from a
    synthetic perception model at quality 50), whose tables zero many
    high-frequency coefficients, which makes entropy coding cheaper;
* the pieces: the colour conversions alone and JPEG coding of ready planes.

Run it twice: as is, and with glibc's allocator told to keep freed memory
(``MALLOC_TRIM_THRESHOLD_=1000000000 MALLOC_MMAP_THRESHOLD_=1000000000``):
a pipeline that frees and reallocates multi-megabyte buffers every frame
otherwise pays a page fault per 4 KiB page per frame, which on this VM costs
as much as the colour conversion (docs/speed.md).

The target is GRACE <= 1.10x the baseline. This is a benchmark, not a test:
timings depend on the machine and on what else runs on it, so the script
prints the machine and every figure, and docs/speed.md records one run.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image, features

if __name__ == "__main__":
    import _path  # noqa: F401  (the checkout on sys.path)

import pillow_grace
from benchmarks.machine import cpu_model
from benchmarks.photo import benchmark_photo
from pillow_grace import Perception, Strategy, codec, colour, registry
from pillow_grace import tables as grace_tables

WEIGHTS = (0.25, 0.45, 0.30)
BASE = {"quality": 90, "subsampling": 0, "optimize": True}


def timeit(fns: list[Callable[[], Any]], repeat: int, passes: int = 3) -> list[tuple[float, float, float]]:
    """(min, median) wall time in ms of each function, and minor page faults per call.

    Each function runs in a tight loop (after two warm-up calls), as a device
    encoding frame after frame would: buffers are then reused, not faulted in
    anew. The whole list is gone through ``passes`` times, so that a burst of
    load from other processes does not decide one figure alone."""
    times: list[list[float]] = [[] for _ in fns]
    faults = [0] * len(fns)
    per_pass = max(1, repeat // passes)
    for _ in range(passes):
        for i, (fn, t) in enumerate(zip(fns, times, strict=True)):
            fn()
            fn()
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            for _ in range(per_pass):
                t0 = time.perf_counter()
                fn()
                t.append(time.perf_counter() - t0)
            faults[i] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    return [(min(t) * 1e3, statistics.median(t) * 1e3, f / len(t))
            for t, f in zip(times, faults, strict=True)]


def pillow_q90_tables() -> tuple[tuple[int, ...], ...]:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "JPEG", quality=90)
    q = Image.open(out).quantization
    return (tuple(q[0]), tuple(q[1]), tuple(q[1]))


def realistic_strategies(name: str | None) -> tuple[list[Strategy], str]:
    """The strategies for the "strategy tables" rows: --strategy, else every
    shipped one, else one allocated from a synthetic perception model."""
    if name:
        s = registry.load_strategy(name)
        return [s], f"strategy {s.name!r}"
    shipped = registry.available_strategies()
    if shipped:
        return [registry.load_strategy(n) for n in shipped], "shipped strategies " + ", ".join(shipped)
    # Shaped like a real perception model: sensitivity and coefficient size
    # fall with frequency; chroma matters 0.3x as much as luma.
    u, v = np.meshgrid(np.arange(8), np.arange(8))
    r = (u + v).reshape(-1).astype(np.float64)
    coef = np.stack([60 / (1 + r) ** 1.3 + 0.5, 25 / (1 + r) ** 1.6 + 0.3, 25 / (1 + r) ** 1.6 + 0.3])
    coef[:, 0] = (200.0, 40.0, 40.0)
    g_sq = np.stack([s * 4e-6 * np.exp(-r / 4) for s in (1.0, 0.3, 0.3)])
    perception = Perception(np.sqrt(g_sq) * 0.8, g_sq, coef)
    param = grace_tables.quality_to_parameter("lagrangian", 50, perception)
    tables = grace_tables.derive_tables(perception, "lagrangian", param)
    s = Strategy(name="synthetic-q50", task="other", weights=WEIGHTS, tables=tables, perception=perception)
    return [s], "no shipped strategy: tables allocated from a synthetic perception model at quality 50"


def machine() -> str:
    cpu = cpu_model() or "?"
    try:
        import cv2

        cv = f"OpenCV {cv2.__version__}"
    except ImportError:
        cv = "no OpenCV"
    return (f"{cpu}, nproc {len(os.sched_getaffinity(0))}; Python {platform.python_version()}, "
            f"Pillow {Image.__version__} (libjpeg-turbo {features.version('libjpeg_turbo')}), "
            f"numpy {np.__version__}, {cv}, pillow-grace {pillow_grace.__version__}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=40, help="timed runs per figure (min is reported)")
    parser.add_argument("--strategy", help="strategy name or path for the 'strategy tables' rows")
    args = parser.parse_args()
    n = args.repeat

    image, source = benchmark_photo()
    image.load()
    rgb = np.asarray(image)
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    same = Strategy(name="q90-tables", task="other", weights=WEIGHTS, tables=pillow_q90_tables())
    real, real_desc = realistic_strategies(args.strategy)
    variants = [(same, "same tables")] + [(r, f"{r.name} tables") for r in real]

    def pil_jpeg() -> bytes:
        out = io.BytesIO()
        image.save(out, "JPEG", **BASE)
        return out.getvalue()

    def pil_grace(strategy: Strategy) -> bytes:
        out = io.BytesIO()
        image.save(out, "GRACE", strategy=strategy)
        return out.getvalue()

    def load(data: bytes) -> Callable[[], Any]:
        return lambda: Image.open(io.BytesIO(data)).load()

    # (group, label, function, index of the baseline row or None, file size)
    rows: list[tuple[str, str, Callable[[], Any], int | None, int | None]] = []

    def row(
        group: str, label: str, fn: Callable[[], Any], base: int | None, size: int | None = None
    ) -> int:
        rows.append((group, label, fn, base, size))
        return len(rows) - 1

    jpeg = pil_jpeg()
    enc_base = row("encode", "Pillow JPEG q90 4:4:4 optimize (baseline)", pil_jpeg, None, len(jpeg))
    dec_base = row("decode", "Pillow JPEG decode (baseline)", load(jpeg), None)
    for strat, tag in variants:
        data = pil_grace(strat)
        row("encode", f"GRACE, Pillow path, {tag}", lambda s=strat: pil_grace(s), enc_base, len(data))
        row("decode", f"GRACE, Pillow path, {tag}", load(data), dec_base)

    try:
        import cv2

        import grace_opencv as gcv
    except ImportError:
        cv2 = None
    versus: list[tuple[int, int, str]] = []  # OpenCV-path rows against cv2's own codec
    if cv2 is not None:
        cv_params = [cv2.IMWRITE_JPEG_QUALITY, 90, cv2.IMWRITE_JPEG_OPTIMIZE, 1,
                     cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
        _, cvbuf = cv2.imencode(".jpg", bgr, cv_params)
        cv_enc = row("encode", "cv2.imencode q90 4:4:4 optimize",
                     lambda: cv2.imencode(".jpg", bgr, cv_params), enc_base, cvbuf.size)
        cv_dec = row("decode", "cv2.imdecode", lambda: cv2.imdecode(cvbuf, cv2.IMREAD_COLOR), dec_base)
        for strat, tag in variants:
            _, buf = gcv.imencode(".jpg", bgr, strategy=strat)
            enc = row("encode", f"GRACE, OpenCV path, {tag}",
                      lambda s=strat: gcv.imencode(".jpg", bgr, strategy=s), enc_base, buf.size)
            versus.append((enc, cv_enc, "cv2.imencode"))
            dec = row("decode", f"GRACE, OpenCV path, {tag}",
                      lambda b=buf: gcv.imdecode(b, cv2.IMREAD_COLOR), dec_base)
            versus.append((dec, cv_dec, "cv2.imdecode"))

    # the pieces
    planes = colour.rgb_to_planes(image, WEIGHTS)
    row("pieces", "colour RGB->G-YUV, Pillow (threaded strips)",
        lambda: colour.rgb_to_planes(image, WEIGHTS), None)
    row("pieces", "colour G-YUV->RGB, Pillow (threaded strips)",
        lambda: colour.planes_to_rgb(planes, WEIGHTS), None)
    row("pieces", "Pillow convert('RGB', matrix), one call",
        lambda: image.convert("RGB", tuple(colour.forward_matrix(WEIGHTS).reshape(-1))), None)

    fwd_values = tuple(colour.forward_matrix(WEIGHTS).reshape(-1))
    row("pieces", "Pillow convert('L', one row of the matrix): one band",
        lambda: image.convert("L", fwd_values[:4]), None)
    bands = planes.split()
    row("pieces", "Image.merge('YCbCr', bands) (relabel by merging)",
        lambda: Image.merge("YCbCr", bands), None)
    converted_rgb = image.convert("RGB", fwd_values)

    def paste_relabel() -> None:
        Image.new("YCbCr", image.size).im.paste(converted_rgb.im, (0, 0, *image.size))

    row("pieces", "core paste RGB-labelled -> new YCbCr image (relabel by copying)", paste_relabel, None)
    small = rgb[:256]
    fixed = colour.forward_fixed(WEIGHTS)
    row("pieces", "numpy int64 reference transform, 1/4 of the photo (x4 for the whole)",
        lambda: colour.reference_transform(small, fixed), None)

    def planes_jpeg() -> None:
        codec.encode_planes(planes, io.BytesIO(), same)

    row("pieces", "JPEG coding of ready G-YUV planes (same tables)", planes_jpeg, enc_base)
    grace_data = pil_grace(same)

    def raw_decode() -> None:
        im = Image.open(io.BytesIO(grace_data))
        im.draft("YCbCr", None)
        im.load()

    row("pieces", "JPEG decode to raw planes (draft YCbCr)", raw_decode, dec_base)

    def raw_decode_rgb_labelled() -> None:
        # what the plugin asks libjpeg for: jpegmode "RGB", i.e. no colour conversion
        im = Image.open(io.BytesIO(grace_data), formats=["JPEG"])
        im.tile = [im.tile[0]._replace(args=("RGB", "RGB"))]
        im.load()

    row("pieces", "JPEG decode to raw planes as the plugin does (jpegmode RGB)", raw_decode_rgb_labelled,
        dec_base)

    def raw_decode_inverse() -> None:
        im = Image.open(io.BytesIO(grace_data))
        im.draft("YCbCr", None)
        im.load()
        colour.planes_to_rgb(im, WEIGHTS)

    row("pieces", "decode to raw YCbCr planes + colour.planes_to_rgb (Pillow only)", raw_decode_inverse,
        dec_base)
    if cv2 is not None:
        fwd = colour.forward_matrix(WEIGHTS)[:, [2, 1, 0, 3]]
        row("pieces", "colour, cv2.transform", lambda: cv2.transform(bgr, fwd), None)
        conv = cv2.transform(bgr, fwd)
        row("pieces", "Image.frombuffer('YCbCr') (copy into Pillow)",
            lambda: Image.frombuffer("YCbCr", image.size, conv, "raw", "YCbCr", 0, 1), None)
        ycc = Image.open(io.BytesIO(grace_data))
        ycc.draft("YCbCr", None)
        ycc.load()
        row("pieces", "np.asarray(planes) (copy out of Pillow)", lambda: np.asarray(ycc), None)

    print(f"machine: {machine()}")
    print(f"photo: {source}; GRACE weights {WEIGHTS}; {n} runs each")
    print(f"strategy tables: {real_desc} (each with its own weights)")
    tuning = {k: v for k, v in os.environ.items() if k.startswith(("MALLOC_", "PILLOW_"))}
    print(f"allocator tuning: {tuning or 'none (defaults)'}")
    extra = f" --strategy {args.strategy}" if args.strategy else ""
    env = "".join(f"{k}={v} " for k, v in tuning.items())
    print(f"command: {env}python benchmarks/speed.py --repeat {n}{extra}")
    print()
    results = timeit([fn for _, _, fn, _, _ in rows], n)
    print("| step | what | min ms | median ms | x Pillow baseline (min) | page faults / call | bytes |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for (group, label, _, base, size), (best, median, faults) in zip(rows, results, strict=True):
        r = "" if base is None else f"{best / results[base][0]:.2f}"
        print(f"| {group} | {label} | {best:.2f} | {median:.2f} | {r} | {faults:.0f} | "
              f"{'' if size is None else size} |")
    if versus:
        print()
        print("| OpenCV path against cv2's own codec | x (min) |")
        print("|---|---:|")
        for ours, theirs, name in versus:
            print(f"| {rows[ours][1]} vs {name} | {results[ours][0] / results[theirs][0]:.2f} |")


if __name__ == "__main__":
    main()

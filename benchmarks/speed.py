"""Speed of GRACE encode and GRACE-aware decode against plain JPEG doing the same work.

    python benchmarks/speed.py [--repeat 30] [--strategy NAME] [--group GROUP ...]

Every ratio compares like with like: the same image (a 2048x1024 photo,
benchmarks/photo.py), the same quantization tables (Pillow's quality-90
tables), the same subsampling (4:4:4) and the same options (optimised
Huffman tables), so the only difference is the colour step. Targets
(docs/speed.md):

* BT.601 weights: encode and decode <= 1.05x Pillow's JPEG (the colour
  step is libjpeg's own, so the work is identical);
* other weights: encode <= 1.25x, GRACE-aware decode <= 1.35x, with Pillow and
  numpy (and cv2.transform when OpenCV is importable), with 4:4:4 and with
  4:2:0 (group "same work 4:2:0": the same tables, both sides 4:2:0); the
  same without OpenCV is reported too;
* region of interest (group "roi", issue #19's device cost, on vtest.avi's
  768x576 frames when opencv-doc is installed): the motion masks
  (``grace_opencv.roi.MotionRoi``, ``CameraMotionRoi``) <= 5 ms per frame, and an encode with
  the motion ROI <= 1.5x the same encode without ROI (cv2 adapter, the
  shipped detector strategies, quality 20 as on the stream pages); and on
  the server, ``pillow_grace.BackgroundFill`` completing that frame's
  background against a plain decode of the same file (no target);
* opening a plain JPEG (``Image.open``, no decode) with pillow-grace
  registered <= 1.3x Pillow's own opener when the header holds a 31 KB XMP
  packet, and <= 1.05x for a plain header (group "open": the cost of the
  check for remains of a damaged GRACE segment, which every JPEG gets).

Then GRACE's defaults against Pillow's JPEG defaults, what ``optimize``
costs and saves, the OpenCV adapter against cv2's own codec, and the
shipped strategies as a device uses them. Each figure is the minimum (and
median) of N runs, round-robin; a benchmark, not a test: the script prints the machine
and every figure, and docs/speed.md records one run.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image, features

if __name__ == "__main__":
    import _path  # noqa: F401  (the checkout on sys.path)

import pillow_grace
import pillow_grace.plugin
from benchmarks.machine import cpu_model
from benchmarks.photo import benchmark_photo
from pillow_grace import Strategy
from pillow_grace.core import colour, registry
from pillow_grace.core import tables as grace_tables
from pillow_grace.core.strategy import Perception

WEIGHTS = (0.25, 0.45, 0.30)
#: glibc settings for --steady-allocator: freed blocks stay with the process (no mmap per
#: large buffer, no trimming), so a buffer freed by one call is reused by the next.
STEADY_ALLOCATOR = {"MALLOC_MMAP_THRESHOLD_": "1073741824", "MALLOC_TRIM_THRESHOLD_": "1073741824"}
BASE = {"quality": 90, "subsampling": 0, "optimize": True}


def timeit(fns: list[Callable[[], Any]], repeat: int) -> list[tuple[float, float, float]]:
    """(min, median) wall time in ms of each function, and its minimum CPU time
    (all threads of the process) in ms, which other jobs on a shared machine
    disturb less.

    The functions run round-robin, one call each per round, after two
    warm-up calls: a burst of load from other processes then hits every
    figure alike instead of deciding one of them alone. The per-thread
    buffers of the library are shared by all rows (same frame size), as in a
    device's loop."""
    for fn in fns:
        fn()
        fn()
    times: list[list[float]] = [[] for _ in fns]
    cpu: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, t, c in zip(fns, times, cpu, strict=True):
            c0 = time.process_time()
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
            c.append(time.process_time() - c0)
    return [(min(t) * 1e3, statistics.median(t) * 1e3, min(c) * 1e3) for t, c in zip(times, cpu, strict=True)]


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


def xmp_packet(size: int = 31 * 1024) -> bytes:
    """An XMP packet of ``size`` bytes shaped like an editor's (Lightroom-style
    develop settings and history: attributes in quotes, CreateDate, and so on)."""
    head = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
            'xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
            'xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" '
            'xmp:CreateDate="2024-05-01T10:11:12" xmp:ModifyDate="2024-05-02T08:09:10" '
            'xmp:CreatorTool="Adobe Photoshop Lightroom Classic 13.2 (Windows)"')
    body, i = [head], 0
    while sum(map(len, body)) < size - 200:
        body.append(f' crs:Setting{i}="{(i * 37) % 200 - 100:+d}" crs:History{i}="saved/converted {i}"')
        i += 1
    text = "".join(body) + "/></rdf:RDF></x:xmpmeta>"
    return (text + " " * (size - 20 - len(text)) + '<?xpacket end="w"?>').encode()[:size]


def open_files() -> list[tuple[str, str, float]]:
    """(label, path, target) of the JPEGs for the "open" rows, written to a
    temporary folder: a 640x480 photo with a 31 KB XMP packet, and with none."""
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="grace-speed-")
    atexit.register(shutil.rmtree, folder, True)
    photo = benchmark_photo()[0].resize((640, 480))
    xmp, plain = os.path.join(folder, "xmp.jpg"), os.path.join(folder, "plain.jpg")
    photo.save(xmp, "JPEG", quality=90, xmp=xmp_packet())
    photo.save(plain, "JPEG", quality=90)
    return [("640x480, 31 KB XMP", xmp, 1.3), ("640x480, plain header", plain, 1.05)]


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


def without_cv2(fn: Callable[[], Any]) -> Callable[[], Any]:
    """``fn`` run as on a device without OpenCV (Pillow's matrix conversion)."""

    def run() -> Any:
        saved = colour._cv2_module
        colour._cv2_module = None
        try:
            return fn()
        finally:
            colour._cv2_module = saved

    return run


def roi_rows(row: Callable[..., int], cv2: Any, gcv: Any) -> None:
    """Group "roi": the device cost of region-of-interest coding on a fixed camera.

    vtest.avi (opencv-doc) at its own 768x576, frames 400..459 (the stream
    pages' evaluation frames): the motion mask per frame (absolute target,
    ms), and per shipped detector strategy an encode without ROI (baseline)
    against the same encode with the motion ROI of frame 459."""
    from benchmarks.packaged_sets import SourceMissing, read_frames, source_root
    from grace_opencv.roi import CameraMotionRoi, MotionRoi
    from pillow_grace.core.codec import resolve_strategy

    try:
        path = source_root("opencv-doc") / "examples/data/vtest.avi"
        by_index = read_frames(path, range(400, 460))
    except SourceMissing as e:
        print(f"no roi rows: {e}")
        return
    # pop: 60 decoded PIL frames kept alive slowed the other groups' GRACE rows by ~0.1x (Pillow
    # allocates their images while those hold its memory)
    frames = [cv2.cvtColor(np.asarray(by_index.pop(i)), cv2.COLOR_RGB2BGR) for i in sorted(by_index)]
    h, w = frames[0].shape[:2]
    # Each source sees the clip once (a background model that has seen the scene), then is
    # timed on it frame after frame, wrapping around.
    motion, compensated = MotionRoi(refresh=0), CameraMotionRoi(refresh=0)
    mask = [motion(f) for f in frames][-1]
    for f in frames:
        compensated(f)
    frame = frames[-1]
    mog2_frames, camera_frames = itertools.cycle(frames), itertools.cycle(frames)
    row("roi", f"motion mask: MotionRoi (MOG2 at quarter size), per {w}x{h} frame (target in ms)",
        lambda: motion(next(mog2_frames)), None, 5.0)
    row("roi", f"motion mask: CameraMotionRoi (camera motion undone), per {w}x{h} frame (target in ms)",
        lambda: compensated(next(camera_frames)), None, 5.0)
    params = [cv2.IMWRITE_JPEG_QUALITY, 20]
    for name in ("yolov3-tiny-coco", "blazeface-short"):
        strat = resolve_strategy(name)
        what = f"{name} ({strat.subsampling}), q20, {w}x{h}"
        _, plain = gcv.imencode(".jpg", frame, params, strategy=strat)
        base = row("roi", f"encode: grace_opencv, {what}, no ROI (baseline)",
                   lambda s=strat: gcv.imencode(".jpg", frame, params, strategy=s), size=plain.size)
        for bg in ("low:5", "dc"):
            _, coded = gcv.imencode(".jpg", frame, params, strategy=strat, roi=mask, background=bg)
            row("roi", f"encode: grace_opencv, {what}, motion ROI ({mask.mean():.0%} of the frame), "
                f"background {bg}",
                lambda s=strat, b=bg: gcv.imencode(".jpg", frame, params, strategy=s, roi=mask, background=b),
                base, 1.5 if bg == "low:5" else None, coded.size)
    # The receiving end: BackgroundFill holding the last full frame, against decoding the same file.
    from pillow_grace import BackgroundFill
    from pillow_grace.evaluate.codecs import read_rgb

    strat = resolve_strategy("yolov3-tiny-coco")
    _, full = gcv.imencode(".jpg", frame, params, strategy=strat)
    _, mapped = gcv.imencode(".jpg", frame, params, strategy=strat, roi=mask, background="dc", roi_map=True)
    data = mapped.tobytes()
    receiver = BackgroundFill()
    receiver.decode(full.tobytes())
    plain = row("roi", f"server: decode to RGB, yolov3-tiny-coco q20 {w}x{h}, motion ROI, background dc, "
                "ROI map (baseline)", lambda: read_rgb(data), size=len(data))
    row("roi", "server: BackgroundFill.decode of the same file (last full frame held)",
        lambda: receiver.decode(data), plain)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per figure (min is reported)")
    parser.add_argument("--strategy", help="strategy name or path for the 'shipped strategy' rows")
    parser.add_argument("--group", action="append", help="only the rows of this group (repeatable), "
                        "e.g. --group open or --group 'same work 4:2:0'")
    parser.add_argument("--one-core", action="store_true",
                        help="run on one CPU (as a single-core device does): no library's helper "
                        "threads overlap the measured work, so wall time is the work done")
    parser.add_argument("--steady-allocator", action="store_true",
                        help="rerun with glibc's allocator keeping freed memory (MALLOC_MMAP_THRESHOLD_, "
                        "MALLOC_TRIM_THRESHOLD_), as a loop over one frame size settles: no row pays "
                        "page faults for its fresh buffers, the baselines included")
    args = parser.parse_args()
    if args.steady_allocator and STEADY_ALLOCATOR.items() - os.environ.items():
        # glibc reads these when the process starts: set them and start again.
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **STEADY_ALLOCATOR})
    n = args.repeat
    if args.one_core:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        try:
            import cv2

            # OpenCV sized its thread pool when it was imported (before the line above):
            # its helper threads would take turns on the one core (MOG2 wakes them).
            cv2.setNumThreads(1)
        except ImportError:
            pass

    image, source = benchmark_photo()
    image.load()
    rgb = np.asarray(image)
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    q90 = grace_tables.jpeg_reference_tables(90).astype(int).tolist()
    bt601 = Strategy(name="q90-bt601", task="other", weights=colour.BT601, tables=q90)
    custom = Strategy(name="q90-custom", task="other", weights=WEIGHTS, tables=q90)
    real, real_desc = realistic_strategies(args.strategy)

    def save(fmt: str, **opts: Any) -> Callable[[], bytes]:
        def run() -> bytes:
            out = io.BytesIO()
            image.save(out, fmt, **opts)
            return out.getvalue()

        return run

    def load(data: bytes) -> Callable[[], Any]:
        return lambda: Image.open(io.BytesIO(data)).load()

    # (group, label, function, index of the baseline row or None, target or None, file size)
    rows: list[tuple[str, str, Callable[[], Any], int | None, float | None, int | None]] = []

    def row(group: str, label: str, fn: Callable[[], Any], base: int | None = None,
            target: float | None = None, size: int | None = None) -> int:
        rows.append((group, label, fn, base, target, size))
        return len(rows) - 1

    def pair(group: str, label: str, encode: Callable[[], bytes], enc_base: int, dec_base: int,
             targets: tuple[float | None, float | None] = (None, None),
             decode: Callable[[bytes], Callable[[], Any]] = load) -> tuple[int, int]:
        data = encode()
        e = row(group, f"encode: {label}", encode, enc_base, targets[0], len(data))
        d = row(group, f"decode: {label}", decode(data), dec_base, targets[1])
        return e, d

    base_enc = save("JPEG", **BASE)
    jpeg = base_enc()
    enc0 = row("same work", "encode: Pillow JPEG, q90 tables, 4:4:4, optimize (baseline)", base_enc,
               size=len(jpeg))
    dec0 = row("same work", "decode: Pillow JPEG (baseline)", load(jpeg))
    same = {"subsampling": "4:4:4", "optimize": True}
    pair("same work", "GRACE BT.601 weights", save("GRACE", strategy=bt601, **same), enc0, dec0, (1.05, 1.05))
    pair("same work", f"GRACE weights {WEIGHTS}", save("GRACE", strategy=custom, **same), enc0, dec0,
         (1.25, 1.35))
    pair("same work", f"GRACE weights {WEIGHTS}, without OpenCV",
         without_cv2(save("GRACE", strategy=custom, **same)), enc0, dec0,
         decode=lambda data: without_cv2(load(data)))

    # the same with 4:2:0 on both sides (libjpeg downsamples the G-YUV planes)
    enc420 = row("same work 4:2:0", "encode: Pillow JPEG, q90 tables, 4:2:0, optimize (baseline)",
                 save("JPEG", **{**BASE, "subsampling": 2}))
    dec420 = row("same work 4:2:0", "decode: Pillow JPEG 4:2:0 (baseline)",
                 load(save("JPEG", **{**BASE, "subsampling": 2})()))
    pair("same work 4:2:0", f"GRACE weights {WEIGHTS}, 4:2:0",
         save("GRACE", strategy=custom, subsampling="4:2:0", optimize=True), enc420, dec420, (1.25, 1.35))

    # opening (no decode): Pillow's own openers, in Pillow's order, against the same with the
    # GRACE opener registered (Image.open's default); formats= leaves the global registry alone
    pillow_only = [f for f in Image.ID if f != pillow_grace.plugin.FORMAT]
    for label, path, target in open_files():
        base_row = row("open", f"Image.open, Pillow's openers only: {label} (baseline)",
                       lambda p=path: Image.open(p, formats=pillow_only).close())
        row("open", f"Image.open with pillow-grace: {label}", lambda p=path: Image.open(p).close(),
            base_row, target)

    # defaults against defaults, and what optimize costs
    pil_default = save("JPEG")
    d_enc = row("defaults", "encode: Pillow JPEG defaults (q75 tables, 4:2:0, no optimize)", pil_default,
                size=len(pil_default()))
    d_dec = row("defaults", "decode: Pillow JPEG defaults", load(pil_default()))
    for strat in real:
        what = f"GRACE defaults, {strat.name} (own tables and weights, {strat.subsampling}, optimize)"
        pair("defaults", what, save("GRACE", strategy=strat), d_enc, d_dec)
    no_opt = save("JPEG", quality=90, subsampling=0, optimize=False)
    row("optimize", "encode: Pillow JPEG q90 4:4:4, optimize=False", no_opt, enc0, size=len(no_opt()))
    g_opt = save("GRACE", strategy=custom, **same)
    g_no = save("GRACE", strategy=custom, subsampling="4:4:4", optimize=False)
    g_base = row("optimize", f"encode: GRACE weights {WEIGHTS}, optimize=True", g_opt, size=len(g_opt()))
    row("optimize", f"encode: GRACE weights {WEIGHTS}, optimize=False", g_no, g_base, size=len(g_no()))

    try:
        import cv2

        import grace_opencv as gcv
    except ImportError:
        cv2 = None
    if cv2 is not None:
        cv_params = [cv2.IMWRITE_JPEG_QUALITY, 90, cv2.IMWRITE_JPEG_OPTIMIZE, 1,
                     cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
        _, cvbuf = cv2.imencode(".jpg", bgr, cv_params)
        cv_enc = row("OpenCV", "encode: cv2.imencode q90 4:4:4 optimize (baseline)",
                     lambda: cv2.imencode(".jpg", bgr, cv_params), size=cvbuf.size)
        cv_dec = row("OpenCV", "decode: cv2.imdecode (baseline)",
                     lambda: cv2.imdecode(cvbuf, cv2.IMREAD_COLOR))
        cases = [(bt601, "BT.601 weights, q90 tables"), (custom, f"weights {WEIGHTS}, q90 tables")]
        for strat, label in cases + [(r, r.name) for r in real]:
            _, buf = gcv.imencode(".jpg", bgr, strategy=strat)
            row("OpenCV", f"encode: grace_opencv, {label}",
                lambda s=strat: gcv.imencode(".jpg", bgr, strategy=s), cv_enc, size=buf.size)
            row("OpenCV", f"decode: grace_opencv, {label}", lambda b=buf: gcv.imdecode(b, cv2.IMREAD_COLOR),
                cv_dec)

        roi_rows(row, cv2, gcv)

    # Once per process: parsing and validating a strategy (format 1.2 files carry ~120 KiB
    # of measured rate-distortion curves), then deriving tables for a quality.
    for r in real:
        text = r.to_json()
        row("strategy", f"load: Strategy.from_json, {r.name} ({len(text)} bytes)",
            lambda t=text: Strategy.from_json(t))

    if args.group:
        unknown = set(args.group) - {r[0] for r in rows}
        if unknown:
            parser.error(f"no such group {sorted(unknown)}; groups: {sorted({r[0] for r in rows})}")
        keep = [i for i, r in enumerate(rows) if r[0] in args.group]
        renumber = {old: new for new, old in enumerate(keep)}
        rows[:] = [(g, lab, fn, renumber.get(b) if b is not None else None, t, sz)  # type: ignore[misc]
                   for g, lab, fn, b, t, sz in (rows[i] for i in keep)]
    print(f"machine: {machine()}" + (" (run on one of them: --one-core)" if args.one_core else ""))
    print(f"photo: {source}; {n} runs each; shipped strategies: {real_desc}")
    tuning = {k: v for k, v in os.environ.items() if k.startswith(("MALLOC_", "PILLOW_"))}
    print(f"allocator tuning: {tuning or 'none (defaults)'}")
    extra = f" --strategy {args.strategy}" if args.strategy else ""
    extra += "".join(f" --group '{g}'" for g in args.group or ())
    extra += " --one-core" if args.one_core else ""
    extra += " --steady-allocator" if args.steady_allocator else ""
    print(f"command: python benchmarks/speed.py --repeat {n}{extra}")
    print()
    # One round-robin for the same-frame rows, as a device's loop; the roi group (768x576
    # frames) after it in its own: its rows in the same rounds disturb the caches and
    # allocator state the others are measured in (measured: +0.1 on the same-work ratios).
    results: list[tuple[float, float, float]] = [(0.0, 0.0, 0.0)] * len(rows)
    same_frame = [i for i, r in enumerate(rows) if r[0] != "roi"]
    for part in (same_frame, [i for i in range(len(rows)) if i not in same_frame]):
        for i, res in zip(part, timeit([rows[i][2] for i in part], n) if part else [], strict=True):
            results[i] = res
    print("| group | what | min ms | median ms | CPU min ms | x baseline (min) | x baseline (CPU) "
          "| target | bytes |")
    print("|---|---|---:|---:|---:|---:|---:|---|---:|")
    for (group, label, _, base, target, size), (best, median, cpu) in zip(rows, results, strict=True):
        ratio = cpu_ratio = goal = ""
        if base is None and target is not None:  # an absolute target, in ms
            goal = f"<= {target:g} ms: {'met' if best <= target else 'MISSED'}"
        if base is not None:
            ratio = f"{best / results[base][0]:.2f}"
            cpu_ratio = f"{cpu / results[base][2]:.2f}"
            if target is not None:
                goal = f"<= {target:.2f}: {'met' if best / results[base][0] <= target else 'MISSED'}"
        digits = 2 if best >= 1 else 4  # opening takes tens of microseconds
        print(f"| {group} | {label} | {best:.{digits}f} | {median:.{digits}f} | {cpu:.{digits}f} | {ratio} "
              f"| {cpu_ratio} "
              f"| {goal} | {'' if size is None else size} |")


if __name__ == "__main__":
    main()

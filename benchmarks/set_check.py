"""What a zoo model finds on a photo set, on clean captures: a sanity check before a benchmark.

    python benchmarks/set_check.py --model yolov3-tiny-coco --images vtest-frames --capture-size native
    python benchmarks/set_check.py --model selfie-seg-full --images vtest-frames --capture-size native

Detection: boxes at the bench's ground-truth threshold (score >= 0.25;
``--score 0.5`` counts the objects whose recall the stream benchmark
measures, benchmarks/roi_stream.py), in total and per class, and how many
images have any (a detection mAP rests on these boxes). Segmentation: the mean share of pixels outside class 0
(text for DBNet, person for the selfie model). Classification: the top-1
classes. Always: seconds per forward pass (2 torch threads unless --threads).
Nothing is encoded; this is the clean reference only.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time

import numpy as np

if __name__ == "__main__":
    import _path  # noqa: F401  (the checkout on sys.path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="zoo model name")
    ap.add_argument("--images", required=True, help="photo set name or directory (as grace bench --images)")
    ap.add_argument("--capture-size", default="1280x720", help="as grace bench (WxH, model, native)")
    ap.add_argument("--max-images", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--score",
        type=float,
        default=None,
        help="detection threshold (default: the bench's ground-truth threshold, 0.25)",
    )
    args = ap.parse_args(argv)

    import torch

    from pillow_grace.bench.sources import load_images
    from pillow_grace.evaluate.capture import CaptureSpec
    from pillow_grace.evaluate.metrics import DETECTION_GT_CONF, DETECTION_NMS_IOU
    from pillow_grace.zoo import get_model

    torch.set_num_threads(args.threads)
    score = DETECTION_GT_CONF if args.score is None else args.score
    zm = get_model(args.model)
    capture = CaptureSpec.parse(args.capture_size)
    images = load_images(args.images).images[: args.max_images]
    if not images:
        print("no images", file=sys.stderr)
        return 1
    boxes: collections.Counter[str] = collections.Counter()
    with_boxes = 0
    shares: list[float] = []
    seconds: list[float] = []
    upscaled = 0
    for im in images:
        frame, up = capture.apply(im.image, zm.input_size)
        upscaled += bool(up)
        x = torch.from_numpy(np.asarray(frame, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
        with torch.inference_mode():
            t0 = time.perf_counter()
            out = zm.module(x)
            seconds.append(time.perf_counter() - t0)
        if zm.task == "detection" and zm.decode is not None:
            det = zm.decode(out, conf=score, iou=DETECTION_NMS_IOU)[0]
            with_boxes += bool(len(det))
            for c in det[:, 5].astype(int):
                boxes[zm.labels[c] if c < len(zm.labels) else str(c)] += 1
        elif zm.task == "segmentation":
            shares.append(float((out.argmax(1) != 0).float().mean()))
        else:
            top = int(out.argmax(1)[0])
            boxes[zm.labels[top] if top < len(zm.labels) else str(top)] += 1
    print(
        f"{args.model} on {args.images}: {len(images)} images, capture {capture.label(zm.input_size)}, "
        f"{upscaled} upscaled; {np.median(seconds):.2f} s per forward (median)"
    )
    if zm.task == "detection":
        top = ", ".join(f"{k} {v}" for k, v in boxes.most_common(8))
        print(f"boxes (score >= {score}): {sum(boxes.values())} in {with_boxes} images; {top}")
    elif zm.task == "segmentation":
        lo, hi = min(shares), max(shares)
        print(f"pixels outside class 0: mean {np.mean(shares):.2%}, min {lo:.2%}, max {hi:.2%}")
    else:
        print("top-1 classes: " + ", ".join(f"{k} {v}" for k, v in boxes.most_common(8)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How long a fit takes: ``python benchmarks/fit_timing.py``.

The target (issue #3) is EfficientNet-Lite0 with 15 probe images at 1280x720
in at most 60 s on 2 CPU cores. Frames are synthetic but photo-like (smooth
colour fields, edges, sensor noise); a fit's cost does not depend on content.
``--model standin`` uses a MobileNet-sized torch network behind the zoo's
resize-to-224, for machines without the zoo's weights.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from pillow_grace.evaluate.images import parse_size
from pillow_grace.fit import fit_strategy, resize_normalize


def synthetic_frames(n: int, size: tuple[int, int], seed: int = 0) -> list[np.ndarray]:
    """Photo-like uint8 frames: upsampled random colour fields plus edges and noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    out = []
    for _ in range(n):
        small = rng.integers(0, 256, (max(2, h // 16), max(2, w // 16), 3), dtype=np.uint8)
        base = np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC), dtype=np.int16)
        base[rng.integers(0, h) :, : rng.integers(0, w)] //= 2  # a sharp edge
        frame = base + rng.integers(-8, 9, (h, w, 3))
        out.append(np.clip(frame, 0, 255).astype(np.uint8))
    return out


def standin_model() -> nn.Module:
    """Resize to 224 (the zoo's ResizeNormalize) + a depthwise-separable conv net of MobileNet size."""

    def block(cin: int, cout: int, stride: int) -> list[nn.Module]:
        return [
            nn.Conv2d(cin, cin, 3, stride, 1, groups=cin),
            nn.BatchNorm2d(cin),
            nn.ReLU6(),
            nn.Conv2d(cin, cout, 1),
            nn.BatchNorm2d(cout),
            nn.ReLU6(),
        ]

    layers: list[nn.Module] = [nn.Conv2d(3, 32, 3, 2, 1), nn.BatchNorm2d(32), nn.ReLU6()]
    chans = [
        (32, 64, 1),
        (64, 128, 2),
        (128, 128, 1),
        (128, 256, 2),
        (256, 256, 1),
        (256, 512, 2),
        *[(512, 512, 1)] * 5,
        (512, 1024, 2),
        (1024, 1024, 1),
    ]
    for cin, cout, s in chans:
        layers += block(cin, cout, s)
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1024, 1000)]
    torch.manual_seed(0)
    return resize_normalize(nn.Sequential(*layers), (224, 224), mode="bicubic").eval()


def time_fit(model: Any, frames: list[np.ndarray], **options: Any) -> tuple[float, Any]:
    """(seconds, strategy) of one ``fit_strategy`` call."""
    start = time.perf_counter()
    strategy = fit_strategy(model, frames, name="timing", **options)
    return time.perf_counter() - start, strategy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/fit_timing.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", default="efficientnet-lite0", help="zoo model name or 'standin'")
    parser.add_argument("--images", type=int, default=15)
    parser.add_argument("--size", type=parse_size, default=(1280, 720), help="capture size WxH")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--label-samples", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.model == "standin":
        model: Any = standin_model()
    else:
        from pillow_grace.zoo import get_model

        model = get_model(args.model)
    frames = synthetic_frames(args.images, args.size)
    options = {} if args.label_samples is None else {"label_samples": args.label_samples}
    for i in range(args.repeat):
        cpu = time.process_time()
        seconds, s = time_fit(model, frames, **options)
        cpu = time.process_time() - cpu
        print(
            f"run {i + 1}: {args.model}, {args.images} images at {args.size[0]}x{args.size[1]}, "
            f"{args.threads} threads, {s.provenance['label_samples']} label samples "
            f"({s.provenance['fisher_estimator']}): {seconds:.1f} s wall, {cpu:.1f} s CPU"
        )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

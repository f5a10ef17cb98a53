"""The smart baseline: the device runs the model's own geometric preprocessing.

A careful engineer whose frames feed one known model resizes on the device
to the network's input and sends that small image: far fewer pixels than the
capture. To make that baseline exact (not "some resize"), the zoo pipeline
``preprocess -> net -> head`` is split:

* device side: the geometric steps (centre crop, letterbox pad, resize to the
  network input) as the *same* torch ops the model runs, then rounding to
  8-bit RGB (a device sends 8-bit pixels);
* server side: the remaining photometric steps (channel order, mean/std) and
  the network. The resize of the model's own ``ResizeNormalize`` is reused
  as is: fed an image of exactly its target size, it is the identity.

:meth:`SmartSplit.verify` checks on a real frame that
``server(device(x)) == model(x)`` without the 8-bit rounding, so the split
provably computes what the model computes. Where the model does not shrink
the capture (its input is as large as the frame or larger), the smart
baseline is plain JPEG and is not reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import torch
from PIL import Image
from torch import nn

from pillow_grace.evaluate.images import ImageLike, as_rgb_array
from pillow_grace.zoo.preprocess import CenterCropFraction, PadToSquare, ResizeNormalize, rapidocr_det_size


class SmartBaselineUnsupported(ValueError):
    """The model's preprocessing contains a step the split does not know."""


class _RapidResize(nn.Module):
    """Resize-only part of DBNet's per-frame (rapidocr) preprocessing."""

    def __init__(self, limit_side_len: int) -> None:
        super().__init__()
        self.limit_side_len = limit_side_len

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w, h = rapidocr_det_size(x.shape[-1], x.shape[-2], self.limit_side_len)
        if (x.shape[-1], x.shape[-2]) == (w, h):
            return x
        return nn.functional.interpolate(
            x, size=(h, w), mode="bilinear", align_corners=False, antialias=False
        )


@dataclass
class SmartSplit:
    device: nn.Module
    """Capture (N x 3 x H x W, [0, 1]) -> network-input-sized image in [0, 1]."""
    server: nn.Module
    """Network-input-sized image in [0, 1] -> model output."""

    @torch.inference_mode()
    def device_resize(self, image: Image.Image) -> Image.Image:
        """What the device sends: its capture through the model's geometry, in 8-bit RGB."""
        x = to_tensor(image)
        y = self.device(x)[0].clamp(0, 1).mul(255).round().to(torch.uint8)
        return Image.fromarray(y.permute(1, 2, 0).contiguous().numpy(), "RGB")

    def output_size(self, capture: tuple[int, int]) -> tuple[int, int]:
        with torch.inference_mode():
            y = self.device(torch.zeros(1, 3, capture[1], capture[0]))
        return int(y.shape[-1]), int(y.shape[-2])

    def resize_factors(self, capture: tuple[int, int]) -> tuple[Fraction, Fraction]:
        """(vertical, horizontal) factors by which the model's resize shrinks a ``capture`` (w, h) frame.

        The region the resize sees (the capture after the model's crop or
        letterbox pad, if any) over the network input, per axis: a 1280x720
        frame letterboxed to 1280x1280 and resized to 640x640 is 2 on both;
        stretched to 224x224, 720/224 vertically and 1280/224 horizontally."""
        steps = list(self.device)  # geometry steps, the resize last (split_pipeline)
        with torch.inference_mode():
            region = nn.Sequential(*steps[:-1])(torch.zeros(1, 3, capture[1], capture[0]))
            out = steps[-1](region)
        return (
            Fraction(int(region.shape[-2]), int(out.shape[-2])),
            Fraction(int(region.shape[-1]), int(out.shape[-1])),
        )

    def input_to_capture(self, capture: tuple[int, int]) -> tuple[tuple[float, float], tuple[float, float]]:
        """((sx, sy), (ox, oy)) with capture = network input * s + o per axis, for a (w, h) ``capture``.

        A detector's boxes are in its input's pixels; an ROI fed back from them
        needs the capture's. A plain stretch is a scale per axis, but a
        letterbox (MediaPipe pads centred) or a centre crop also shifts the
        origin. The crop and pad steps only move pixels, so a frame whose pixels
        hold their own (x + 1, y + 1) shows where the capture's origin lands in
        the region the resize sees (padding stays 0), without knowing the steps."""
        w, h = capture
        steps = list(self.device)  # geometry steps, the resize last (split_pipeline)
        ys, xs = torch.meshgrid(torch.arange(1, h + 1, dtype=torch.float32),
                                torch.arange(1, w + 1, dtype=torch.float32), indexing="ij")
        with torch.inference_mode():
            region = nn.Sequential(*steps[:-1])(torch.stack([xs, ys, torch.ones_like(xs)])[None])[0]
        rows, cols = torch.nonzero(region[2] > 0, as_tuple=True)
        r0, c0 = int(rows.min()), int(cols.min())
        out_w, out_h = self.output_size(capture)
        scale = (region.shape[-1] / out_w, region.shape[-2] / out_h)
        return scale, (float(region[0, r0, c0]) - 1 - c0, float(region[1, r0, c0]) - 1 - r0)

    @torch.inference_mode()
    def verify(self, model: nn.Module, image: Image.Image, rtol: float = 1e-4) -> float:
        """Max |server(device(x)) - model(x)| relative to max |model(x)|; raises above ``rtol``."""
        x = to_tensor(image)
        ref = model(x).float()
        got = self.server(self.device(x)).float()
        scale = float(ref.abs().max().clamp(min=1e-12))
        err = float((got - ref).abs().max()) / scale
        if err > rtol:
            raise SmartBaselineUnsupported(
                f"the device/server split does not reproduce the model (relative error {err:.2e} > {rtol}); "
                "the smart baseline would not be the model's own resize"
            )
        return err


def to_tensor(image: ImageLike) -> torch.Tensor:
    """RGB PIL image or H x W x 3 uint8 array -> 1 x 3 x H x W float32 in [0, 1] (what every model
    of the bench, the zoo and the fit's validation takes)."""
    arr = as_rgb_array(image)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).unsqueeze(0).float().div_(255.0)


def split_pipeline(module: nn.Module) -> SmartSplit:
    """Split a zoo ``FrozenPipeline`` into device (geometry) and server (the rest).

    Raises :class:`SmartBaselineUnsupported` for pipelines it cannot split
    exactly (unknown preprocessing steps, no resize)."""
    pre = getattr(module, "preprocess", None)
    net = getattr(module, "net", None)
    if pre is None or net is None:
        raise SmartBaselineUnsupported(
            f"{type(module).__name__} is not a preprocess/net pipeline; the smart baseline needs the "
            "model's preprocessing as separate torch steps (pillow_grace.zoo models have it)"
        )
    steps = list(pre) if isinstance(pre, nn.Sequential) else [pre]
    device: list[nn.Module] = []
    server: list[nn.Module] = []
    resized = False
    for step in steps:
        if resized:
            server.append(step)
        elif isinstance(step, (CenterCropFraction, PadToSquare)):
            device.append(step)
        elif isinstance(step, ResizeNormalize):
            device.append(ResizeNormalize(step.size, mode=step.mode, antialias=step.antialias))
            server.append(step)  # its resize is the identity on an input of its size
            resized = True
        elif type(step).__name__ == "RapidOCRDetPreprocess":
            device.append(_RapidResize(int(step.limit_side_len)))
            server.append(step)
            resized = True
        else:
            raise SmartBaselineUnsupported(
                f"preprocessing step {type(step).__name__} is not known to the smart-baseline split"
            )
    if not resized:
        raise SmartBaselineUnsupported(
            "the model's preprocessing has no resize; nothing for a device to shrink"
        )
    head = getattr(module, "head", None)
    tail = [net] + ([head] if head is not None else [])
    return SmartSplit(nn.Sequential(*device).eval(), nn.Sequential(*server, *tail).eval())

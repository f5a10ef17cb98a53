"""Pictures and text of a strategy (``grace show``), with Pillow and numpy only.

The picture is the paper's Fig. 18 for 8x8 blocks: top row, the perception
model (mean |gradient| per G-YUV channel and DCT bin, log colour scale shared
by the three channels, so a dark U or V map means the colour space moved the
sensitivity into Y); bottom row, the quantization tables (linear scale 1..255,
steps printed in the cells). Frequencies run left to right (horizontal) and
top to bottom (vertical), DC at the top left, as in a JPEG table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pillow_grace.core.strategy import CHANNELS, Strategy

# Matplotlib's viridis at nine anchors (perceptually uniform, readable in grey).
_VIRIDIS = np.array(
    [(68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
     (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37)],
    dtype=np.float64,
)
CELL = 26
PAD = 14
TITLE_H = 34
LABEL_H = 18
BAR_H = 10


def colormap(t: np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> uint8 RGB (viridis, linear between anchors)."""
    t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0) * (len(_VIRIDIS) - 1)
    i = np.minimum(t.astype(int), len(_VIRIDIS) - 2)
    f = (t - i)[..., None]
    return np.rint(_VIRIDIS[i] * (1 - f) + _VIRIDIS[i + 1] * f).astype(np.uint8)


def _log_scale(values: np.ndarray) -> tuple[np.ndarray, float, float]:
    """log10 normalised to [0, 1]; the range spans at most 6 decades below the maximum."""
    positive = values[values > 0]
    if positive.size == 0:
        return np.zeros_like(values), 0.0, 0.0
    hi = math.log10(float(positive.max()))
    lo = max(math.log10(float(positive.min())), hi - 6.0)
    if hi - lo < 1e-9:
        lo = hi - 1.0
    logs = np.log10(np.where(values > 0, values, 10.0**lo))
    return np.clip((logs - lo) / (hi - lo), 0, 1), lo, hi


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default()


def render_png(strategy: Strategy) -> Image.Image:
    """The sensitivity maps and tables of ``strategy`` as an RGB image."""
    rows: list[tuple[str, np.ndarray, bool]] = []
    if strategy.perception is not None:
        g = np.asarray(strategy.perception.grad_abs_mean, dtype=np.float64)
        norm, lo, hi = _log_scale(g)
        rows.append((f"mean |gradient| (log10 {lo:.1f} .. {hi:.1f})", norm, False))
    t = np.asarray(strategy.tables, dtype=np.float64)
    rows.append(("quantization step (1 .. 255)", (t - 1) / 254, True))
    grid = 8 * CELL
    width = PAD + 3 * (grid + PAD)
    height = TITLE_H + len(rows) * (LABEL_H + grid + BAR_H + PAD) + PAD
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    font = _font()
    w = ", ".join(f"{x:.3f}" for x in strategy.weights)
    draw.text((PAD, 6), f"{strategy.name}   task={strategy.task}   weights (Wr, Wg, Wb)=({w})",
              fill=(0, 0, 0), font=font)
    alloc = strategy.allocation
    sub = f"subsampling {strategy.subsampling}"
    if alloc is not None:
        sub += f"   allocation {alloc.method} parameter={alloc.parameter:.4g} quality={alloc.quality}"
    draw.text((PAD, 20), sub, fill=(60, 60, 60), font=font)
    y = TITLE_H
    for label, values, numbers in rows:
        draw.text((PAD, y + 2), label, fill=(0, 0, 0), font=font)
        y += LABEL_H
        for c in range(3):
            x0 = PAD + c * (grid + PAD)
            block = colormap(values[c].reshape(8, 8))
            big = np.repeat(np.repeat(block, CELL, axis=0), CELL, axis=1)
            img.paste(Image.fromarray(big, "RGB"), (x0, y))
            draw.text((x0 + grid - 12, y - LABEL_H + 2), CHANNELS[c], fill=(0, 0, 0), font=font)
            if numbers:
                steps = np.asarray(strategy.tables[c]).reshape(8, 8)
                for r in range(8):
                    for k in range(8):
                        lum = float(block[r, k] @ np.array([0.299, 0.587, 0.114]))
                        colour = (0, 0, 0) if lum > 140 else (255, 255, 255)
                        draw.text((x0 + k * CELL + 3, y + r * CELL + 8), str(int(steps[r, k])),
                                  fill=colour, font=font)
        y += grid + 2
        bar = colormap(np.linspace(0, 1, 3 * grid + 2 * PAD))[None, :, :].repeat(BAR_H - 2, axis=0)
        img.paste(Image.fromarray(bar, "RGB"), (PAD, y))
        y += BAR_H + PAD
    return img


def describe(strategy: Strategy, origin: str = "") -> str:
    """A human-readable summary: identity, weights, allocation, tables, key provenance."""
    lines = [f"strategy {strategy.name}" + (f"  ({origin})" if origin else "")]
    lines.append(f"  task              {strategy.task}")
    if strategy.description:
        lines.append(f"  model             {strategy.description}")
    if strategy.model_input_size:
        lines.append(f"  model input       {strategy.model_input_size[0]}x{strategy.model_input_size[1]}")
    if strategy.probe_resolution:
        lines.append(f"  probe resolution  {strategy.probe_resolution[0]}x{strategy.probe_resolution[1]}")
    wr, wg, wb = strategy.weights
    lines.append(f"  G-YUV weights     Wr={wr:.4f}  Wg={wg:.4f}  Wb={wb:.4f}")
    lines.append(f"  subsampling       {strategy.subsampling}")
    a = strategy.allocation
    if a is not None:
        lines.append(f"  allocation        {a.method}  parameter={a.parameter:.6g}  quality={a.quality}")
        if a.calibration:
            lines.append("  calibrated at     " + ", ".join(f"q{q}" for q, _ in a.calibration)
                         + (f"; standard JPEG 4:4:4 above q{a.reference_above}" if a.reference_above else ""))
    rd = strategy.perception.rate_distortion if strategy.perception is not None else None
    if rd is not None:
        lines.append(f"  measured R-D      {len(rd.steps)} steps from {rd.steps[0]} to {rd.steps[-1]} "
                     "(format 1.2; what allocation empirical derives tables from)")
    lines.append(f"  content hash      {strategy.content_hash}")
    for c, name in enumerate(CHANNELS):
        lines.append(f"  {name} table:")
        t = strategy.tables[c]
        for r in range(8):
            lines.append("    " + " ".join(f"{q:3d}" for q in t[r * 8 : r * 8 + 8]))
    if strategy.perception is not None:
        g = np.asarray(strategy.perception.grad_abs_mean)
        total = g.sum()
        share = ", ".join(f"{n} {100 * g[i].sum() / total:.1f}%" for i, n in enumerate(CHANNELS))
        share = share if total else "-"
        lines.append(f"  sensitivity share {share}")
    prov: Mapping[str, Any] = strategy.provenance
    for key in ("model", "model_spec", "loss", "label_samples", "colour_median", "weights_clamped",
                "probe_images", "seed", "date", "library_version", "torch_version", "elapsed_s",
                "weights_from", "merge_rule"):
        if key in prov:
            lines.append(f"  {key:<17} {_short(prov[key])}")
    return "\n".join(lines)


def _short(value: Any) -> str:
    text = str(list(value) if isinstance(value, tuple) else value)
    return text if len(text) <= 100 else text[:97] + "..."

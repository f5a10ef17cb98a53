"""The rate–accuracy plot of a benchmark summary (PNG, needs matplotlib)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pillow_grace.evaluate.analysis import Summary

_STYLE = {
    "jpeg-420": ("tab:blue", "o"),
    "jpeg-444": ("tab:cyan", "s"),
    "webp": ("tab:green", "^"),
    "jpegli": ("tab:purple", "v"),
    "smart-jpeg-420": ("tab:gray", "D"),
    "smart-jpeg-444": ("dimgray", "d"),
    "jpeg-zeroed": ("darkgoldenrod", "X"),
}


def plot(summary: Summary, path: str | os.PathLike[str], title: str | None = None) -> Path | None:
    """Rate–accuracy plot (PNG): bpp (log) against every metric, 95% intervals as bars.

    Returns None (and writes nothing) when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    specs = list(summary.sweep.scorer.metrics)
    fig, axes = plt.subplots(1, len(specs), figsize=(6.2 * len(specs), 4.6), squeeze=False)
    grace_colours = iter(["tab:red", "tab:orange", "tab:brown", "tab:pink", "tab:olive", "black"])
    colours: dict[str, tuple[str, str]] = {}
    for c in summary.curves:
        colours[c] = _STYLE.get(c) or (next(grace_colours, "black"), "*")
    for ax, spec in zip(axes[0], specs, strict=True):
        for c in summary.curves:
            pts = sorted((p for p in summary.points if p.curve == c), key=lambda p: p.bpp.value)
            x = [p.bpp.value for p in pts]
            iv = [p.metrics[spec.name] for p in pts]
            if spec.axis == "neglog10":
                y = [v.value for v in iv]
                lo = [max(v.value - v.low, 0) if math.isfinite(v.low) else 0 for v in iv]
                hi = [max(v.high - v.value, 0) if math.isfinite(v.high) else 0 for v in iv]
            else:
                k = 100.0 if spec.percent else 1.0
                y = [v.value * k for v in iv]
                lo = [max((v.value - v.low) * k, 0) if math.isfinite(v.low) else 0 for v in iv]
                hi = [max((v.high - v.value) * k, 0) if math.isfinite(v.high) else 0 for v in iv]
            colour, marker = colours[c]
            lw = 2.2 if c.startswith("grace") else 1.2
            ax.errorbar(
                x,
                y,
                yerr=[lo, hi],
                label=c,
                color=colour,
                marker=marker,
                ms=4,
                lw=lw,
                capsize=2,
                elinewidth=0.8,
            )
        ax.set_xscale("log")
        _nice_log_ticks(ax, [p.bpp.value for p in summary.points if p.curve in colours])
        if spec.axis == "neglog10":
            ax.set_yscale("log")
        ax.set_xlabel("bits per pixel of the capture (log)")
        ax.set_ylabel(spec.label + (" (%)" if spec.percent else ""))
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    sw = summary.sweep
    fig.suptitle(
        title
        or f"{sw.model['name']} @ {sw.capture['label']}, {len(sw.images)} images "
        f"(bars: 95% bootstrap interval)",
        fontsize=10,
    )
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _nice_log_ticks(ax: Any, values: Sequence[float]) -> None:
    """Label 1-2-5 ticks on a log axis (matplotlib's default labels collide on short ranges)."""
    from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullFormatter

    vals = [v for v in values if v > 0 and math.isfinite(v)]
    if not vals:
        return
    lo, hi = min(vals) / 1.2, max(vals) * 1.2
    ticks = [m * 10.0**e for e in range(-4, 4) for m in (1, 2, 5) if lo <= m * 10.0**e <= hi]
    if len(ticks) >= 2:
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(NullFormatter())

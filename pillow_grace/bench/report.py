"""Outputs of a benchmark: a text table, machine-readable JSON, a rate–accuracy plot
and markdown sections for docs/results.md.

Everything printed is derived from a :class:`~pillow_grace.bench.analysis.Summary`,
so the stdout table, the JSON and the results page cannot disagree.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .analysis import RATE_TARGETS, Comparison, Interval, Summary

JSON_FORMAT = "grace-bench"
JSON_VERSION = 1


# -- machine ----------------------------------------------------------------------------
def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or ""


def machine_info() -> dict[str, Any]:
    """Where the numbers were measured: CPU, cores, library versions."""
    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:  # pragma: no cover - the bench needs torch anyway
        pass
    from PIL import __version__ as pil_version
    from PIL import features

    from .._version import __version__

    info.update(
        pillow=pil_version,
        libjpeg_turbo=features.version("libjpeg_turbo"),
        libwebp=features.version("webp"),
        pillow_grace=__version__,
    )
    try:
        from importlib.metadata import version

        info["pyjpegli"] = version("pyjpegli")
    except Exception:
        info["pyjpegli"] = None
    return info


# -- formatting helpers ----------------------------------------------------------------------
def fmt_pct(x: float | None, digits: int = 1) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x * 100:.{digits}f}"


def fmt_interval(iv: Interval, percent: bool, digits: int = 1) -> str:
    if not math.isfinite(iv.value):
        return "n/a"
    if percent:
        main = f"{iv.value * 100:.{digits}f}"
        if math.isfinite(iv.low):
            return f"{main} [{iv.low * 100:.{digits}f}, {iv.high * 100:.{digits}f}]"
        return main
    main = f"{iv.value:.3g}"
    if math.isfinite(iv.low):
        return f"{main} [{iv.low:.3g}, {iv.high:.3g}]"
    return main


def fmt_bd(c: Comparison) -> str:
    if c.result.value is None:
        return "undefined"
    s = f"{c.result.value * 100:+.1f}%"
    if c.interval:
        s += f" [{c.interval[0] * 100:+.1f}, {c.interval[1] * 100:+.1f}]"
    if c.kind == "single point":
        s += " (1 point)"
    return s


def fmt_range(c: Comparison) -> str:
    r = c.result
    if r.low is None or r.high is None:
        return "-"
    if c.kind == "single point":
        return f"at {r.low:.3g}"
    return f"{r.low:.3g} .. {r.high:.3g}"


def _fmt_bytes(b: float) -> str:
    return f"{b / 1024:.1f} KiB" if b >= 1024 else f"{b:.0f} B"


# -- text --------------------------------------------------------------------------------------
def points_rows(summary: Summary) -> tuple[list[str], list[list[str]]]:
    specs = summary.sweep.scorer.metrics
    header = ["codec", "setting", "bpp", "ratio", "bytes/frame"]
    header += [m.label + (" %" if m.percent else "") for m in specs]
    header += ["encode ms"]
    rows = []
    for p in summary.points:
        row = [p.curve, p.setting, f"{p.bpp.value:.3f}", f"{p.ratio:.1f}:1", _fmt_bytes(p.bytes_per_frame)]
        row += [fmt_interval(p.metrics[m.name], m.percent) for m in specs]
        row += [f"{p.encode_ms:.1f}" if p.curve != "uncompressed" else "-"]
        rows.append(row)
    return header, rows


def comparison_rows(summary: Summary) -> tuple[list[str], list[list[str]]]:
    header = ["GRACE curve", "vs", "metric (BD axis)", "BD-rate [95% CI]", "shared range", "verdict"]
    rows = [
        [
            c.test,
            c.reference,
            c.axis,
            fmt_bd(c),
            fmt_range(c) if c.result.defined else c.result.reason,
            c.verdict,
        ]
        for c in summary.comparisons
    ]
    return header, rows


def target_rows(summary: Summary) -> tuple[list[str], list[list[str]]]:
    spec = summary.sweep.scorer.spec(summary.primary)
    header = ["codec"] + [f"bytes/frame at {t:g}% {spec.label}" for t in RATE_TARGETS]
    rows = []
    for curve, row in summary.rate_at.items():
        cells = [curve]
        for t in RATE_TARGETS:
            v = row.get(f"{t:g}")
            if v is None:
                cells.append("not reached")
            else:
                cells.append(("<= " if v["upper_bound"] else "") + _fmt_bytes(v["bytes"]))
        rows.append(cells)
    return header, rows


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [
        max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
        for i, h in enumerate(header)
    ]
    line = "  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def esc(x: Any) -> str:
        return str(x).replace("|", "\\|")

    out = ["| " + " | ".join(esc(h) for h in header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def headline(summary: Summary, metrics: Sequence[str] | None = None) -> list[str]:
    """Plain sentences: where GRACE wins, where it loses, where it is within noise.

    One sentence per comparison and metric (all metrics by default): a coarse
    primary metric (top-1 agreement on tens of images) is often "unstable"
    where the continuous one (KL, score drift) is decisive."""
    out = []
    for c in summary.comparisons:
        if metrics is not None and c.metric not in metrics:
            continue
        on = f"[{c.metric}] "
        if c.result.value is None:
            out.append(f"{on}{c.test} vs {c.reference}: BD-rate undefined ({c.result.reason}).")
            continue
        v = c.result.value * 100
        ci = f" (95% CI {c.interval[0] * 100:+.1f} to {c.interval[1] * 100:+.1f}%)" if c.interval else ""
        where = f"over {c.axis} {fmt_range(c)}"
        if c.kind == "single point":
            where = f"at its only frontier point, {c.axis} {c.result.low:.3g} (no BD-rate: one point)"
        if c.verdict == "test better":
            out.append(
                f"{on}{c.test} needs {-v:.1f}% fewer bits than {c.reference} for the same accuracy{ci}, "
                f"{where}."
            )
        elif c.verdict == "reference better":
            out.append(
                f"{on}{c.reference} needs {v / (1 + v / 100):.1f}% fewer bits than {c.test} "
                f"({c.test}: {v:+.1f}%{ci}), {where}."
            )
        else:
            out.append(f"{on}{c.test} vs {c.reference}: {v:+.1f}%{ci}, {where}: {c.verdict}.")
    return out


def render_text(summary: Summary) -> str:
    sw = summary.sweep
    parts = [
        f"model {sw.model['name']} ({sw.model['task']}), capture {sw.capture['label']}, "
        f"{len(sw.images)} images, {sw.elapsed_s:.0f} s",
    ]
    parts += [f"note: {n}" for n in sw.notes]
    for chk in sw.probe_checks:
        if chk.status != "clean":
            parts.append(
                f"probe check for {chk.strategy}: {chk.status}"
                + (f" ({len(chk.overlapping)} image(s))" if chk.overlapping else "")
            )
        if chk.status == "overridden":
            parts.append("WARNING: CONTAMINATED: evaluation images include the strategy's probe images")
    parts += ["", text_table(*points_rows(summary)), ""]
    parts += [
        f"BD-rates (bootstrap over images, {summary.bootstrap} resamples; negative = GRACE smaller; "
        "'unstable': the shared accuracy range vanishes in over 10% of resamples):",
        text_table(*comparison_rows(summary)),
        "",
    ]
    parts += [text_table(*target_rows(summary)), ""]
    parts += headline(summary)
    return "\n".join(parts)


# -- JSON ---------------------------------------------------------------------------------------
def summary_json(summary: Summary, *, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    sw = summary.sweep
    per_image = {
        f"{s.curve}/{s.setting}": {"bits": [int(b) for b in s.bits], **sw.scorer.per_image(s.records)}
        for s in sw.settings
    }
    return {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "model": sw.model,
        "capture": sw.capture,
        "strategies": sw.strategies,
        "probe_checks": [c.to_json() for c in sw.probe_checks],
        "contaminated": any(c.status == "overridden" for c in sw.probe_checks),
        "images": sw.images,
        "skipped_images": [{"name": n, "reason": r} for n, r in sw.skipped_images],
        "notes": sw.notes,
        "metrics": [
            {
                "name": m.name,
                "label": m.label,
                "higher_is_better": m.higher_is_better,
                "percent": m.percent,
                "bd_axis": m.axis_label,
            }
            for m in sw.scorer.metrics
        ],
        "primary_metric": summary.primary,
        "bootstrap": {
            "resamples": summary.bootstrap,
            "seed": summary.seed,
            "interval": "2.5..97.5 percentile",
        },
        "points": [p.to_json() for p in summary.points],
        "bd_rates": [c.to_json() for c in summary.comparisons],
        "bytes_at_accuracy": summary.rate_at,
        "headline": headline(summary),
        "per_image": per_image,
        "elapsed_s": sw.elapsed_s,
        **(extra or {}),
    }


def write_json(obj: Any, path: str | os.PathLike[str]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(obj, indent=1, allow_nan=False, default=_json_default) + "\n", encoding="utf-8"
    )


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o) if math.isfinite(float(o)) else None
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (set, tuple)):
        return list(o)
    raise TypeError(f"cannot serialise {type(o).__name__}")


# -- plot -------------------------------------------------------------------------------------
_STYLE = {
    "jpeg-420": ("tab:blue", "o"),
    "jpeg-444": ("tab:cyan", "s"),
    "webp": ("tab:green", "^"),
    "jpegli": ("tab:purple", "v"),
    "smart-jpeg-420": ("tab:gray", "D"),
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


# -- markdown ------------------------------------------------------------------------------------
def markdown_section(
    summary: Summary, *, title: str, image: str | None = None, command: str | None = None, level: int = 3
) -> str:
    sw = summary.sweep
    h = "#" * level
    lines = [f"{h} {title}", ""]
    lines.append(
        f"Model `{sw.model['name']}` ({sw.model['task']}), capture {sw.capture['label']}, "
        f"{len(sw.images)} images ({sum(1 for i in sw.images if i.get('upscaled'))} upscaled to the "
        f"capture size), {sw.elapsed_s:.0f} s. Intervals: 95% bootstrap over images "
        f"({summary.bootstrap} resamples)."
    )
    for s in sw.strategies:
        lines.append(
            f"Strategy `{s.get('name')}` ({s.get('content_hash', '')[:19]}), "
            f"probe resolution {s.get('probe_resolution')}."
        )
    for chk in sw.probe_checks:
        if chk.status == "overridden":
            lines.append(
                f"**CONTAMINATED: {len(chk.overlapping)} evaluation image(s) were used to probe "
                f"{chk.strategy}.**"
            )
        elif chk.status == "excluded":
            lines.append(
                f"{len(chk.overlapping)} probe image(s) of `{chk.strategy}` were excluded from evaluation."
            )
        elif chk.status == "unverifiable":
            lines.append(
                f"`{chk.strategy}` records no probe fingerprints: its separation from the evaluation "
                "images could not be checked."
            )
    if command:
        lines += ["", f"Command: `{command}`"]
    lines.append("")
    for sentence in headline(summary):
        lines.append(f"- {sentence}")
    for n in sw.notes:
        lines.append(f"- Note: {n}")
    lines += ["", markdown_table(*comparison_rows(summary)), ""]
    lines += [markdown_table(*target_rows(summary)), ""]
    if image:
        lines += [f"![rate-accuracy: {title}]({image})", ""]
    lines += [
        "<details><summary>All codec settings</summary>",
        "",
        markdown_table(*points_rows(summary)),
        "",
        "</details>",
        "",
    ]
    return "\n".join(lines)

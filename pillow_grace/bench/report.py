"""A benchmark summary as people read it: the text table on stdout and markdown sections.

Everything printed is derived from a :class:`~pillow_grace.evaluate.analysis.Summary`,
so the stdout table, the JSON (:mod:`~pillow_grace.bench.export`) and the
markdown cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pillow_grace.evaluate.analysis import RATE_TARGETS, Comparison, Interval, Summary


@dataclass
class CrossCell:
    """One cell of the cross-model table (:func:`pillow_grace.bench.studies.run_cross_model`):
    the strategy fitted for one model, inference with another; ``summary`` None where not run."""

    strategy: str
    model: str
    summary: Summary | None
    note: str = ""


# -- formatting helpers ----------------------------------------------------------------------
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


def quality_rows(summary: Summary) -> tuple[list[str], list[list[str]]]:
    """GRACE's loss over standard JPEG 4:4:4's at each quality both were run at (see
    :func:`~pillow_grace.evaluate.analysis.quality_scale`): the quality scale's promise."""
    header = ["GRACE curve", "quality", "loss", "loss / JPEG 4:4:4's [95% CI]", "bytes / JPEG 4:4:4's"]
    rows = [
        [r.test, r.setting, r.loss,
         f"{r.ratio.value:.2f} [{r.ratio.low:.2f}, {r.ratio.high:.2f}]", f"{r.bytes_ratio:.2f}"]
        for r in summary.quality_scale
    ]
    return header, rows


QUALITY_NOTE = ("Quality scale: GRACE at quality Q is calibrated to cost the model what standard JPEG 4:4:4 "
                "at Q does, at fewer bytes (same quality, same images; the interval is a paired bootstrap).")


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


def skipped_text(skipped: Sequence[tuple[str, str]], groups: int = 8, names: int = 3) -> str:
    """What was left out of the evaluation and why, grouped by reason (most frequent first),
    with a few names each: printed by ``grace bench`` so no frame disappears silently."""
    if not skipped:
        return "skipped: nothing"
    by_reason: dict[str, list[str]] = {}
    for name, reason in skipped:
        by_reason.setdefault(reason, []).append(name)
    order = sorted(by_reason.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    lines = [f"skipped {len(skipped)} image(s):"]
    for reason, who in order[:groups]:
        more = f", ... ({len(who) - names} more)" if len(who) > names else ""
        lines.append(f"  {len(who)} x {reason}: {', '.join(who[:names])}{more}")
    if len(order) > groups:
        lines.append(f"  ... and {sum(len(w) for _, w in order[groups:])} more with other reasons "
                     "(all in summary.json, skipped_images)")
    return "\n".join(lines)


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
    if summary.quality_scale:
        parts += [QUALITY_NOTE, text_table(*quality_rows(summary)), ""]
    parts += headline(summary)
    return "\n".join(parts)


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
    if summary.quality_scale:
        lines += [QUALITY_NOTE, "", markdown_table(*quality_rows(summary)), ""]
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


def cross_model_markdown(cells: Sequence[CrossCell]) -> str:
    strategies = list(dict.fromkeys(c.strategy for c in cells))
    models = list(dict.fromkeys(c.model for c in cells))
    lines = [
        "## Cross-model: strategy fitted for A, inference with B",
        "",
        "As in the paper's Tables 2 and 4. Every pair is reported; accuracy is always the *inference* "
        "model's own metric against its own output on the clean frame, so a cell answers: does a stream "
        "compressed for A serve B? Cell: BD-rate against JPEG 4:2:0 on B's metric [95% CI], then bits per "
        "pixel and B's accuracy with A's own tables (the strategy file as shipped). Capture 1280x720; "
        "A's probe images are excluded.",
        "",
    ]
    header = ["strategy (A) \\ inference (B)", *models]
    rows = []
    for s in strategies:
        row = [s]
        for m in models:
            cell = next(c for c in cells if c.strategy == s and c.model == m)
            row.append(_cross_cell_text(cell))
        rows.append(row)
    lines.append(markdown_table(header, rows))
    return "\n".join(lines) + "\n"


def _cross_cell_text(cell: CrossCell) -> str:
    if cell.summary is None:
        return cell.note
    sm = cell.summary
    own = next((p for p in sm.points if p.curve == "grace" and p.setting == "own tables"), None)
    parts = []
    for spec in sm.sweep.scorer.metrics:
        comp = next((c for c in sm.comparisons if c.metric == spec.name and c.reference == "jpeg-420"), None)
        if comp is None:
            continue
        if comp.result.defined:
            parts.append(f"{spec.name}: BD {fmt_bd(comp)}")
        else:
            parts.append(f"{spec.name}: BD undefined ({comp.result.reason})")
    if own:
        vals = ", ".join(
            f"{m.name} {fmt_interval(own.metrics[m.name], m.percent)}" + ("%" if m.percent else "")
            for m in sm.sweep.scorer.metrics
        )
        parts.append(f"own tables: {own.bpp.value:.3f} bpp, {vals}")
    parts.append(f"n={len(sm.sweep.images)}")
    return "; ".join(parts)

"""A benchmark summary as machines read it: JSON, and names safe for files and strategies."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from pillow_grace.bench.report import headline
from pillow_grace.evaluate.analysis import Summary

JSON_FORMAT = "grace-bench"
JSON_VERSION = 1


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
        "quality_scale": [r.to_json() for r in summary.quality_scale],
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


def slug(text: str) -> str:
    """``text`` as a file-name stem and valid strategy name: lower-case ASCII letters, digits and
    ``-_.``, anything else replaced by ``-``, at most 128 characters."""
    out = "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "-" for c in text.lower())
    return out.strip("-.")[:128] or "unnamed"

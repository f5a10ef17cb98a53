"""The rule that images used to probe (fit) a strategy are never used to evaluate it.

A strategy records the fingerprints of its probe images in its provenance
(``fit_strategy`` does); evaluation photos are compared with them as loaded and
as the fitter would have prepared them. The same fingerprints prove which files
are a strategy's probe images when a refit needs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from pillow_grace.core.errors import GraceError
from pillow_grace.evaluate.images import fit_to_capture, image_fingerprint, upright
from pillow_grace.evaluate.photos import BenchImage


class ProbeOverlapError(GraceError, ValueError):
    """Evaluation images include images that were used to fit (probe) the strategy."""


#: The provenance key under which ``fit_strategy`` lists its probe images' fingerprints.
PROBE_FINGERPRINT_KEY = "probe_image_sha256"


def probe_fingerprints(strategy: Any) -> set[str] | None:
    """Fingerprints of the images the strategy was probed on, or None if it records none."""
    prov = getattr(strategy, "provenance", None) or {}
    found = _fingerprints_in(prov)
    if found is None and isinstance(prov.get("probe"), Mapping):
        found = _fingerprints_in(prov["probe"])
    return found


def _fingerprints_in(mapping: Mapping[str, Any]) -> set[str] | None:
    value = mapping.get(PROBE_FINGERPRINT_KEY)
    if isinstance(value, (list, tuple)):
        return {_strip_prefix(str(v)) for v in value}
    if isinstance(value, Mapping):  # name -> fingerprint
        return {_strip_prefix(str(v)) for v in value.values()}
    return None


def _strip_prefix(fp: str) -> str:
    return fp.split(":", 1)[1] if fp.startswith("sha256:") else fp


@dataclass
class ProbeCheck:
    """Outcome of the probe/evaluation separation check, recorded in every result."""

    strategy: str
    status: str  # "clean", "excluded", "overridden", "unverifiable"
    overlapping: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "status": self.status, "overlapping": list(self.overlapping)}


def check_probe_overlap(
    images: list[BenchImage], strategies: Iterable[Any], *, policy: str = "refuse"
) -> tuple[list[BenchImage], list[ProbeCheck]]:
    """Enforce that no evaluation image was used to probe any of ``strategies``.

    ``policy``: ``"refuse"`` raises :class:`ProbeOverlapError` naming the
    files; ``"exclude"`` drops them from the evaluation; ``"allow"`` keeps
    them (the results are then marked as contaminated). A strategy that
    records no fingerprints cannot be checked and is marked "unverifiable"."""
    if policy not in ("refuse", "exclude", "allow"):
        raise ValueError(f"policy must be refuse, exclude or allow, got {policy!r}")
    checks: list[ProbeCheck] = []
    drop: set[str] = set()
    for s in strategies:
        fps = probe_fingerprints(s)
        name = getattr(s, "name", str(s))
        if fps is None:
            checks.append(ProbeCheck(name, "unverifiable"))
            continue
        overlap = [im.name for im in images if fingerprints_for(im, s) & fps]
        if not overlap:
            checks.append(ProbeCheck(name, "clean"))
            continue
        if policy == "refuse":
            shown = ", ".join(overlap[:20]) + (" ..." if len(overlap) > 20 else "")
            raise ProbeOverlapError(
                f"{len(overlap)} evaluation image(s) were used to probe strategy {name!r}: {shown}. "
                "Evaluating a strategy on its own probe images overstates it. Remove them from --images, "
                "pass --exclude-probe-images to drop them, or --allow-probe-overlap to keep them "
                "(the results are then marked CONTAMINATED)"
            )
        checks.append(ProbeCheck(name, "excluded" if policy == "exclude" else "overridden", overlap))
        if policy == "exclude":
            drop.update(overlap)
    return [im for im in images if im.name not in drop], checks


def fingerprints_for(image: BenchImage, strategy: Any) -> set[str]:
    """The image's fingerprint as loaded and as the fitter would have prepared it for ``strategy``.

    The fitter fingerprints probe images after fitting them to the strategy's
    probe (capture) resolution, so a photo is compared both ways."""
    out = {image.fingerprint}
    size = getattr(strategy, "probe_resolution", None)
    if size and tuple(size) != image.image.size:
        out.add(image_fingerprint(fit_to_capture(image.image, tuple(size))))
    return out


def locate_probe_images(strategy: Any, candidates: Iterable[Path | BenchImage]) -> list[BenchImage]:
    """The strategy's probe images among ``candidates``, proven by fingerprint.

    Refits (ablations, a strategy refitted for another capture size) must use
    exactly the images the strategy was fitted on, and nothing else: a file
    counts only when its pixels, prepared as the fitter prepares them, hash to
    one of the strategy's recorded fingerprints. Files are read as RGB both
    with and without their EXIF orientation applied (the fitter may do either)."""
    fps = probe_fingerprints(strategy)
    if not fps:
        return []
    found: dict[str, BenchImage] = {}
    for cand in candidates:
        if isinstance(cand, BenchImage):
            options = [cand]
        else:
            try:
                with Image.open(cand) as im:
                    im.load()
                    raw = im.convert("RGB")
                    turned = upright(im).convert("RGB")
            except (OSError, SyntaxError, ValueError):
                continue
            options = [BenchImage.of(f"probe:{cand.name}", img, "probe") for img in (raw, turned)]
        for option in options:
            hit = fingerprints_for(option, strategy) & fps
            if hit:
                found.setdefault(next(iter(hit)), option)
                break
    return list(found.values())

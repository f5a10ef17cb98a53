"""Does the probe's content decide the fit? ``python benchmarks/probe_content.py``.

Fits EfficientNet-Lite0 twice at one capture size with the same options: once
on the 15 opencv-doc probe photos every shipped strategy uses
(``benchmarks/probe-set.txt``), once on 15 photos drawn evenly from the npm
photos of ``native720`` (stock photography: landscapes, people, interiors).
Both are then benched on the same evaluation photos, the rest of
``native720`` minus either probe, against JPEG 4:4:4 and 4:2:0.

It answers whether a fit's verdict on its held-out probe folds carries over to
content unlike the probe: at 224x224 the opencv-doc fit claims a saving the
evaluation does not show, while the fit on photos like the evaluation sees
that GRACE cannot win and falls back to standard JPEG (docs/fitting.md).

    python benchmarks/probe_content.py --capture 224x224     # about 6 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

if __name__ == "__main__":
    import _path  # noqa: F401  (the checkout on sys.path)

from benchmarks import packaged_sets, photo_sets
from pillow_grace.evaluate.images import fit_to_capture, load_image, parse_size


def _file_name(name: str) -> str:
    """The set entry's own file name ("native720:bg washington.jpg" -> "bg washington.jpg")."""
    return name.split(":")[-1]


def prepare(root: Path, capture: tuple[int, int], count: int) -> tuple[Path, Path, Path]:
    """Write the captures: the opencv-doc probe, the npm probe and the evaluation photos."""
    cv, npm, evaluation = (root / d for d in ("probe-opencv-doc", "probe-npm", "eval"))
    for d in (cv, npm, evaluation):
        d.mkdir(parents=True)
    probe_files = photo_sets.probe_set_files()
    for path in probe_files:
        fit_to_capture(load_image(path), capture).save(cv / (path.stem + ".png"))
    manifest = packaged_sets.load_manifest()
    sources = {e["name"]: e["source"] for e in manifest["sets"]["native720"]["files"]}
    photos = packaged_sets.load_set("native720").images
    kinds = {name: packaged_sets.SOURCES[src]["kind"] for name, src in sources.items()}
    from_npm = [im for im in photos if kinds[_file_name(im.name)] == "npm"]
    drawn = {im.name for im in from_npm[:: max(1, len(from_npm) // count)][:count]}
    probe_stems = {p.stem for p in probe_files}
    for im in photos:
        stem = Path(_file_name(im.name)).stem
        if im.name in drawn:
            fit_to_capture(im.image, capture).save(npm / f"{stem}.png")
        elif stem not in probe_stems:
            fit_to_capture(im.image, capture).save(evaluation / f"{stem}.png")
    return cv, npm, evaluation


def run(cmd: list[str]) -> None:
    """A ``grace`` command, its report discarded (the summary is read from its files)."""
    subprocess.run([sys.executable, "-m", "pillow_grace.cli", *cmd], check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--capture", default="224x224", help="capture size WxH (default: the model's input)")
    ap.add_argument("--probe-count", type=int, default=15)
    args = ap.parse_args()
    capture = parse_size(args.capture)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cv, npm, evaluation = prepare(root, capture, args.probe_count)
        print(f"evaluation: {len(list(evaluation.iterdir()))} photos at {args.capture}", flush=True)
        for label, probe in (("opencv-doc probe", cv), ("npm probe", npm)):
            strategy = root / f"{probe.name}.json"
            run(["fit", "--model", "efficientnet-lite0", "--images", str(probe),
                 "--capture-size", args.capture, "--out", str(strategy), "--name", probe.name, "--quiet"])
            sel = json.loads(strategy.read_text())["provenance"]["selection"]
            verdicts = {k: v for k, v in sel["verdict_vs_better_jpeg"].items() if v is not None}
            verdict = verdicts.get(sel["chosen"])
            out = root / f"bench-{probe.name}"
            run(["bench", "--strategy", str(strategy), "--images", str(evaluation),
                 "--capture-size", "native", "--codecs", "grace,jpeg-444,jpeg-420", "--out", str(out),
                 "--quiet", "--no-plot"])
            rows = json.loads((out / "summary.json").read_text())["bd_rates"]
            bench = {r["reference"]: r for r in rows if r["metric"] == "kl"}
            cells = []
            for ref in ("jpeg-444", "jpeg-420"):
                lo, hi = bench[ref]["interval_95"]
                value = bench[ref]["bd_rate"]
                cells.append(f"vs {ref} {100 * value:+.1f}% [{100 * lo:+.1f}, {100 * hi:+.1f}]")
            if verdict is not None:
                fold = f"{100 * verdict:+.1f}%"
            else:  # a fallback: the best candidate it did not keep
                best = min(verdicts, key=verdicts.__getitem__)
                fold = f"best candidate {best} {100 * verdicts[best]:+.1f}%"
            print(f"{label}: fit chose {sel['chosen']} (held-out probe folds {fold}); "
                  f"evaluation KL BD-rate {'; '.join(cells)}", flush=True)


if __name__ == "__main__":
    main()

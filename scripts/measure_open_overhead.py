"""Cost of pillow-grace for ordinary JPEGs: Image.open (+ load) with and without it.

Two measurements, on the same files:

* A/B in one interpreter that imported pillow_grace, alternating call by call
  (so both see the same machine noise): ``Image.open(f, formats=["JPEG"])``
  (Pillow's JPEG opener alone) against ``Image.open(f)`` (the GRACE opener
  first, which returns Pillow's own JpegImageFile for these files).
* Two interpreters, one that never imports pillow_grace, for the literal
  "with and without"; noisier, as the runs are not interleaved.

    python scripts/measure_open_overhead.py [--repeat N] [jpeg ...]

Without files it writes three test JPEGs to a temporary directory: a
640x480 and a 1920x1080 photo (scaled from Debian's opencv-doc building.jpg
when installed, else synthetic) and the 1920x1080 one with a 30 KB EXIF
block. Prints medians (and, for the A/B run, minima) in microseconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, sys, time
mode, repeat, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
if mode != "plain":
    import pillow_grace  # noqa: F401
from PIL import Image
assert ("pillow_grace" in sys.modules) == (mode != "plain")

def once(f, formats):
    t0 = time.perf_counter()
    im = Image.open(f, formats=formats)
    t1 = time.perf_counter()
    im.load()
    t2 = time.perf_counter()
    assert im.format == "JPEG"
    im.close()
    return t1 - t0, t2 - t0

out = {}
for f in files:
    runs = {"jpeg-only": [], "default": []}
    for _ in range(repeat):
        if mode == "ab":
            runs["jpeg-only"].append(once(f, ["JPEG"]))
        runs["default"].append(once(f, None))
    out[f] = runs
print(json.dumps(out))
"""


def make_files(d: Path) -> list[Path]:
    from PIL import Image

    src = Path("/usr/share/doc/opencv-doc/examples/data/building.jpg")
    if src.is_file():
        base = Image.open(src).convert("RGB")
    else:
        sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
        from conftest import synthetic_photo

        base = synthetic_photo(960, 540)
    small, big = base.resize((640, 480)), base.resize((1920, 1080))
    exif = Image.Exif()
    exif[0x010E] = "x" * 30000  # ImageDescription: a large EXIF block, as some cameras write
    out = [d / "640x480.jpg", d / "1920x1080.jpg", d / "1920x1080-exif.jpg"]
    small.save(out[0], quality=90)
    big.save(out[1], quality=90)
    big.save(out[2], quality=90, exif=exif)
    return out


def child(mode: str, repeat: int, files: list[Path]) -> dict[str, dict[str, list[list[float]]]]:
    run = subprocess.run([sys.executable, "-c", CHILD, mode, str(repeat), *map(str, files)],
                         capture_output=True, text=True, check=True)
    return json.loads(run.stdout)


def med(runs: list[list[float]], i: int) -> float:
    return statistics.median(r[i] for r in runs) * 1e6


def low(runs: list[list[float]], i: int) -> float:
    """Minimum: the least disturbed call, robust when the machine is busy."""
    return min(r[i] for r in runs) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--repeat", type=int, default=300)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = args.files or make_files(Path(tmp))
        ab = child("ab", args.repeat, files)
        plain = child("plain", args.repeat, files)
        grace = child("grace", args.repeat, files)
    for stat, fn in (("median", med), ("minimum", low)):
        print(f"A/B in one process, {stat} of {args.repeat} alternating calls (microseconds)\n")
        print("| file | open: JPEG only | open: default | open+load: JPEG only | open+load: default "
              "| overhead |")
        print("|---|---|---|---|---|---|")
        for f, runs in ab.items():
            a, b = runs["jpeg-only"], runs["default"]
            print(f"| {Path(f).name} | {fn(a, 0):.0f} | {fn(b, 0):.0f} | {fn(a, 1):.0f} | {fn(b, 1):.0f} | "
                  f"{fn(b, 1) - fn(a, 1):+.0f} ({(fn(b, 1) - fn(a, 1)) / fn(a, 1) * 100:+.1f}%) |")
        print()
    print(f"Separate interpreters, median of {args.repeat} calls (microseconds)\n")
    print("| file | open: without | open: with | open+load: without | open+load: with |")
    print("|---|---|---|---|---|")
    for f in plain:
        a, b = plain[f]["default"], grace[f]["default"]
        print(f"| {Path(f).name} | {med(a, 0):.0f} | {med(b, 0):.0f} | {med(a, 1):.0f} | {med(b, 1):.0f} |")


if __name__ == "__main__":
    main()

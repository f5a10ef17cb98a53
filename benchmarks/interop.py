"""Interop numbers for docs/interop.md: how a GRACE file looks to ordinary decoders.

    python benchmarks/interop.py            # prints the markdown tables

For each set of G-YUV weights the benchmark photo (benchmarks/photo.py) is
written as GRACE with Pillow's own quality-90 tables (so that the only
difference from a normal JPEG is the colour space), then decoded

* GRACE-aware (the Pillow plugin; grace_opencv gives the same pixels),
* plainly by Pillow's JPEG decoder (``Image.open(f, formats=["JPEG"])``),
  by ``cv2.imdecode`` and by libjpeg-turbo's ``djpeg`` (if installed),

and each decode is compared with the original: PSNR over R, G and B, mean and
max absolute error (8-bit units). A normal Pillow JPEG at quality 90 is the
reference row. A second table uses all-ones tables (nearly lossless JPEG), so
that the error left is that of the colour conversion and the DCT rounding.
A third part checks the colour arithmetic on all 2**24 colours.
"""

from __future__ import annotations

import argparse
import io
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

if __name__ == "__main__":
    import _path  # noqa: F401  (the checkout on sys.path)

import pillow_grace
from benchmarks.photo import benchmark_photo
from pillow_grace import Strategy
from pillow_grace.core import colour
from pillow_grace.core.tables import jpeg_reference_tables

WEIGHTS = {
    "BT.601": colour.BT601,
    "(0.25, 0.45, 0.30)": (0.25, 0.45, 0.30),
    "(0.20, 0.50, 0.30)": (0.2, 0.5, 0.3),
    "(0.40, 0.40, 0.20)": (0.4, 0.4, 0.2),
    "(0.10, 0.80, 0.10)": (0.1, 0.8, 0.1),
}


def error(decoded: np.ndarray, original: np.ndarray) -> tuple[float, float, int]:
    d = decoded.astype(np.int64) - original.astype(np.int64)
    mse = float(np.mean(d * d))
    psnr = float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)
    return psnr, float(np.abs(d).mean()), int(np.abs(d).max())


def djpeg(data: bytes) -> np.ndarray | None:
    exe = shutil.which("djpeg")
    if exe is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jpg"
        src.write_bytes(data)
        ppm = subprocess.run([exe, "-pnm", str(src)], check=True, capture_output=True).stdout
    return np.asarray(Image.open(io.BytesIO(ppm)).convert("RGB"))


def grace_file(image: Image.Image, weights: tuple[float, float, float], qtables: tuple) -> bytes:
    strat = Strategy(name="interop", task="other", weights=weights, tables=qtables)
    out = io.BytesIO()
    image.save(out, "GRACE", strategy=strat, optimize=True)
    return out.getvalue()


def fmt(e: tuple[float, float, int]) -> str:
    return f"{e[0]:.2f} / {e[1]:.2f} / {e[2]}"


def decode_table(image: Image.Image, original: np.ndarray, qtables: tuple, label: str) -> None:
    try:
        import cv2
    except ImportError:  # pragma: no cover
        cv2 = None
    print(f"\n### {label}\n")
    print("Each cell: PSNR (dB) / mean abs error / max abs error of that decode against the original.\n")
    cols = ["GRACE-aware", "plain Pillow", "plain cv2", "plain djpeg", "plain vs aware (max abs)"]
    print("| weights | size (bytes) | " + " | ".join(cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    ref = io.BytesIO()
    image.save(ref, "JPEG", qtables=[list(t) for t in qtables[:2]], subsampling=0, optimize=True)
    ref_dec = np.asarray(Image.open(io.BytesIO(ref.getvalue()), formats=["JPEG"]).convert("RGB"))
    ref_err = fmt(error(ref_dec, original))
    print(f"| normal JPEG (Pillow, same tables) | {len(ref.getvalue())} | - | {ref_err} | - | - | - |")
    for name, weights in WEIGHTS.items():
        data = grace_file(image, weights, qtables)
        aware = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        plain = np.asarray(Image.open(io.BytesIO(data), formats=["JPEG"]).convert("RGB"))
        cells = [fmt(error(aware, original)), fmt(error(plain, original))]
        if cv2 is not None:
            bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            cells.append(fmt(error(bgr[:, :, ::-1], original)))
        else:
            cells.append("n/a")
        dj = djpeg(data)
        cells.append(fmt(error(dj, original)) if dj is not None else "n/a (no djpeg)")
        cells.append(str(error(plain, aware)[2]))
        print(f"| {name} | {len(data)} | " + " | ".join(cells) + " |")


def exhaustive() -> None:
    """Every 24-bit colour through each implementation of the colour matrices."""
    try:
        import cv2
    except ImportError:  # pragma: no cover
        cv2 = None
    v = np.arange(1 << 24, dtype=np.uint32)
    rgb = np.stack([(v >> 16) & 255, (v >> 8) & 255, v & 255], -1).astype(np.uint8).reshape(4096, 4096, 3)
    print("\n### Colour arithmetic on all 16,777,216 colours\n")
    print("| weights | Pillow path == reference | cv2.transform == reference | "
          "round trip RGB->planes->RGB max / mean abs error |")
    print("|---|---|---|---|")
    for name, weights in WEIGHTS.items():
        fwd, inv = colour.forward_fixed(weights), colour.inverse_fixed(weights)
        planes = np.concatenate([colour.reference_transform(c, fwd) for c in np.array_split(rgb, 16)])
        back = np.concatenate([colour.reference_transform(c, inv) for c in np.array_split(planes, 16)])
        saved, colour._cv2_module = colour._cv2_module, None  # Pillow's conversion, as without OpenCV
        try:
            pil_ok = np.array_equal(np.asarray(colour.rgb_to_planes(Image.fromarray(rgb), weights)), planes)
            pil_ok &= np.array_equal(np.asarray(colour.planes_to_rgb(Image.fromarray(planes), weights)), back)
        finally:
            colour._cv2_module = saved
        cv_ok: object = "n/a"
        if cv2 is not None:
            bgr_fwd = colour.forward_matrix(weights)[:, [2, 1, 0, 3]]
            cv_ok = np.array_equal(cv2.transform(np.ascontiguousarray(rgb[:, :, ::-1]), bgr_fwd), planes)
            cv_ok &= np.array_equal(cv2.transform(planes, colour.inverse_matrix(weights)), back)
        err = np.abs(back.astype(np.int16) - rgb.astype(np.int16))
        print(f"| {name} | {pil_ok} | {cv_ok} | {int(err.max())} / {float(err.mean()):.3f} |")


def libjpeg_bt601() -> None:
    """How far libjpeg's own BT.601 conversion (used for BT.601 strategies,
    see colour.is_libjpeg_transform) is from the 10-bit definition."""
    bits = 16  # jccolor.c / jdcolor.c: SCALEBITS

    def fix(x: float) -> int:
        return int(x * (1 << bits) + 0.5)

    half = 1 << (bits - 1)
    fwd, inv = colour.forward_fixed(colour.BT601), colour.inverse_fixed(colour.BT601)
    counts = {"forward": np.zeros(256, np.int64), "inverse": np.zeros(256, np.int64)}
    g, b = (a.ravel().astype(np.int64) for a in np.meshgrid(np.arange(256), np.arange(256), indexing="ij"))
    for r in range(256):
        rr = np.full_like(g, r)
        px = np.stack([rr, g, b], 1)
        lib_fwd = np.stack([
            (fix(0.299) * rr + fix(0.587) * g + fix(0.114) * b + half) >> bits,
            (-fix(0.16874) * rr - fix(0.33126) * g + fix(0.5) * b + (128 << bits) + half - 1) >> bits,
            (fix(0.5) * rr - fix(0.41869) * g - fix(0.08131) * b + (128 << bits) + half - 1) >> bits,
        ], 1)
        cb, cr = g - 128, b - 128  # px read as planes (Y, Cb, Cr)
        lib_inv = np.clip(np.stack([
            rr + ((fix(1.402) * cr + half) >> bits),
            rr + ((-fix(0.34414) * cb - fix(0.71414) * cr + half) >> bits),
            rr + ((fix(1.772) * cb + half) >> bits),
        ], 1), 0, 255)
        for key, lib, fixed in (("forward", lib_fwd, fwd), ("inverse", lib_inv, inv)):
            ours = colour.reference_transform(px.astype(np.uint8), fixed).astype(np.int64)
            counts[key] += np.bincount(np.abs(lib - ours).max(1), minlength=256)
    print("\n### BT.601: libjpeg's conversion against the 10-bit definition, all 2**24 inputs\n")
    print("| direction | identical | off by 1 | off by more |")
    print("|---|---:|---:|---:|")
    for key, c in counts.items():
        total = int(c.sum())
        print(f"| {key} | {100 * c[0] / total:.2f}% | {100 * c[1] / total:.2f}% | {int(c[2:].sum())} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-exhaustive", action="store_true", help="skip the 2**24-colour check")
    args = parser.parse_args()
    image, source = benchmark_photo()
    original = np.asarray(image)
    print(f"photo: {source}; pillow-grace {pillow_grace.__version__}, Pillow {Image.__version__}, "
          f"numpy {np.__version__}, Python {platform.python_version()}")
    q90 = jpeg_reference_tables(90).astype(int).tolist()  # what Pillow writes at quality=90
    decode_table(image, original, q90, "Pillow's quality-90 tables, 4:4:4")
    decode_table(image, original, ((1,) * 64,) * 3, "All-ones tables (nearly lossless), 4:4:4")
    if not args.no_exhaustive:
        exhaustive()
        libjpeg_bt601()


if __name__ == "__main__":
    main()

"""Allocation experiments: what was tried for the table fit, measured the same way.

Compares, on one model and one capture size, BD-rates (KL divergence from the
clean output against bits) against standard JPEG 4:4:4 and 4:2:0 of:

* ``laplacian``: the per-bin Lagrangian on a Laplacian model (pooled E[g^2],
  Laplacian of scale E|s|), BT.601 planes (``allocation="lagrangian"``);
* ``laplacian-fisher-scale``: the same with the distortion's Laplacian scale
  weighted by each block's Fisher information;
* ``empirical``: the per-bin Lagrangian on the rate and Fisher-weighted
  distortion measured on the probe's blocks (``allocation="empirical"``, the
  package's own :func:`pillow_grace.fit.planes.rate_distortion`);
* with ``--decompose``: measured rate with the Laplacian distortion, and the
  reverse (which half of ``empirical`` wins?);
* with ``--rdo``: ``rdo-xS``, the Laplacian tables plus a DNN-weighted pass in
  the encoder that zeroes a trailing +-1 coefficient when its estimated bits
  exceed S x lambda/2 x pooled Fisher weight x added squared error, on planes
  made with Pillow's YCbCr conversion; ``planes-only`` is that path without
  zeroing;
* with ``--extra-probe SET``: the probe enlarged by a set's photos (is the
  Fisher estimate's noise what limits a small capture?);
* with ``--dc-difference``: the DC's measured rate taken as JPEG codes it
  (the size category of the difference from the previous block, plus its
  extra bits) instead of the entropy of the quantized values;
* with ``--closed-loop``: the ``empirical`` tables refined by coordinate
  descent on real bytes: each bin of each plane moved along the step grid
  while libjpeg's optimized-Huffman size of the probe images' plane (true run
  lengths, EOB, DC prediction) plus lambda/2 x the measured Fisher-weighted
  error drops; judged on the evaluation images like the rest;
* with ``--adaptive-rdo``: any coefficient rounded one step towards zero or
  zeroed where bits (4 + its magnitude category) outweigh lambda/2 x Fisher x
  added error, with the Fisher weight pooled or by the block's activity class
  (octiles of luma AC energy: what a device could compute).

Every allocation is matched to JPEG's qualities on one yardstick: the loss
the measured curves predict. The probe is the fitter's own
(:func:`pillow_grace.fit.probe_rgb`); the per-block Fisher weights of the
scale and RDO variants come from one extra pass here. Findings are
summarised in docs/fitting.md.

    python benchmarks/allocation_experiments.py --model efficientnet-lite0 --capture 1280x720 \
        --images native720 --max-images 16 --decompose
"""

from __future__ import annotations

import argparse
import io
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageFile

if __name__ == "__main__":
    import _path  # noqa: F401  (the checkout on sys.path)

from benchmarks.photo_sets import PHOTO_SETS, probe_set_entries
from pillow_grace.core import colour
from pillow_grace.core import tables as T
from pillow_grace.core.colour import BT601
from pillow_grace.evaluate.bdrate import bd_rate
from pillow_grace.evaluate.images import fit_to_capture, image_fingerprint, parse_size
from pillow_grace.evaluate.judge import Judge, kl_distance
from pillow_grace.evaluate.measures import neglog10
from pillow_grace.fit import probe_rgb
from pillow_grace.fit.dct import block_dct, dct_basis
from pillow_grace.fit.labels import Labels
from pillow_grace.fit.planes import perception_for
from pillow_grace.zoo import get_model

STEPS = np.arange(1, 256, dtype=np.float64)
QUALITIES = (20, 35, 50, 65, 80, 90, 95)


def probe_blocks(
    module: torch.nn.Module, arrays: list[np.ndarray], task: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per block BT.601-plane Fisher weights and plane coefficients, (N, 3, 64) each, 4:4:4."""
    m = torch.from_numpy(colour.forward_matrix(colour.BT601)[:, :3])
    a = torch.from_numpy(colour.inverse_matrix(colour.BT601)[:, :3].T)
    labels = Labels("sampled", task, 4, torch.Generator().manual_seed(0))
    fs, ss = [], []
    for im in arrays:
        h, w = im.shape[:2]
        hp, wp = -(-h // 8) * 8, -(-w // 8) * 8
        x = torch.from_numpy(np.array(im)[None]).permute(0, 3, 1, 2).float().div(255).requires_grad_(True)
        out = module(x)
        closures, weights = labels.plan(out, 1)
        fisher = torch.zeros(3, hp // 8, wp // 8, 64, dtype=torch.float64)
        for k, closure in enumerate(closures):
            (g,) = torch.autograd.grad(closure(out), x, retain_graph=k < len(closures) - 1)
            g = torch.nn.functional.pad(g[0].double() / 255.0, (0, wp - w, 0, hp - h))
            fisher += float(weights[k, 0]) * block_dct(torch.einsum("cd,dhw->chw", a, g)) ** 2
        rgb = torch.from_numpy(np.array(im)).permute(2, 0, 1).double() - 128.0
        planes = torch.nn.functional.pad(
            torch.einsum("cd,dhw->chw", m, rgb)[None], (0, wp - w, 0, hp - h), mode="replicate"
        )[0]
        fs.append(fisher.permute(1, 2, 0, 3).reshape(-1, 3, 64).numpy())
        ss.append(block_dct(planes).permute(1, 2, 0, 3).reshape(-1, 3, 64).numpy())
    return np.concatenate(fs), np.concatenate(ss)


def laplacian_tables(
    fisher: np.ndarray, scale: np.ndarray, lam: float, dist_scale: np.ndarray | None = None
) -> np.ndarray:
    rate, dist = T.laplacian_rate_distortion(STEPS[None, :], scale.reshape(-1, 1))
    if dist_scale is not None:
        _, dist = T.laplacian_rate_distortion(STEPS[None, :], dist_scale.reshape(-1, 1))
    return STEPS[T._argmin_largest(rate + 0.5 * lam * fisher.reshape(-1, 1) * dist)].reshape(3, 64)


def _zigzag() -> np.ndarray:
    order = sorted(((u + v, v if (u + v) % 2 else u), u * 8 + v) for u in range(8) for v in range(8))
    return np.array([i for _, i in order])


def rdo_encode(
    image: np.ndarray, tables: np.ndarray, fisher: np.ndarray, lam: float, strength: float
) -> bytes:
    """Tables plus greedy DNN-weighted zeroing of trailing +-1 coefficients, written as YCbCr planes."""
    basis, zz = dct_basis(), _zigzag()
    h, w = image.shape[:2]
    hp, wp = -(-h // 8) * 8, -(-w // 8) * 8
    ycc = np.pad(
        np.asarray(Image.fromarray(image).convert("YCbCr")), ((0, hp - h), (0, wp - w), (0, 0)), mode="edge"
    )
    out = np.empty_like(ycc)
    for c in range(3):
        blocks = (ycc[..., c].astype(np.float64) - 128).reshape(hp // 8, 8, wp // 8, 8).transpose(0, 2, 1, 3)
        s = (basis @ blocks.reshape(-1, 8, 8) @ basis.T).reshape(-1, 64)[:, zz]
        q, wz = tables[c][zz], fisher[c][zz]
        k = np.rint(s / q)
        nz = k != 0
        pos = np.where(nz, np.arange(64), -1)
        prev = np.maximum.accumulate(np.concatenate([np.full((len(k), 1), -1), pos[:, :-1]], 1), axis=1)
        run = np.minimum(np.arange(64) - prev - 1, 15)
        size = np.where(nz, np.floor(np.log2(np.maximum(np.abs(k), 1))) + 1, 0).astype(int)
        hist = np.bincount((run * 16 + size)[:, 1:][nz[:, 1:]], minlength=256) + 0.5
        bits = -np.log2(hist / hist.sum())
        last = np.where(nz[:, 1:].any(1), 63 - np.argmax(nz[:, :0:-1], axis=1), 0)
        for p in range(63, 0, -1):
            cand = np.flatnonzero((last == p) & (np.abs(k[:, p]) == 1))
            saved = bits[run[cand, p] * 16 + 1] + 1.0
            added = wz[p] * (s[cand, p] ** 2 - (s[cand, p] - k[cand, p] * q[p]) ** 2)
            zero = cand[0.5 * lam * strength * added < saved]
            k[zero, p] = 0
            s[zero, p] = 0.0
            rest = k[zero, 1:p] != 0
            last[zero] = np.where(rest.any(1), p - 1 - np.argmax(rest[:, ::-1], axis=1), 0) if p > 1 else 0
        natural = np.empty_like(s)
        natural[:, zz] = s
        pix = basis.T @ natural.reshape(-1, 8, 8) @ basis + 128
        out[..., c] = np.clip(
            np.rint(pix.reshape(hp // 8, wp // 8, 8, 8).transpose(0, 2, 1, 3).reshape(hp, wp)), 0, 255
        )
    buf = io.BytesIO()
    Image.fromarray(out[:h, :w], "YCbCr").save(
        buf, "JPEG", qtables=[[int(v) for v in t] for t in tables], subsampling=0, optimize=True
    )
    return buf.getvalue()


def jpeg(
    image: np.ndarray, quality: int | None = None, tables: np.ndarray | None = None, sub: int = 0
) -> bytes:
    buf = io.BytesIO()
    opts: dict[str, object] = {"subsampling": sub, "optimize": True}
    if tables is not None:
        opts["qtables"] = [[int(v) for v in t] for t in tables]
    else:
        opts["quality"] = quality
    Image.fromarray(image).save(buf, "JPEG", **opts)
    return buf.getvalue()


class Bench:
    """Rate and KL of each setting on the evaluation images, judged by the engine's
    :class:`~pillow_grace.evaluate.judge.Judge` (real encode, server decode, model)."""

    def __init__(self, module: torch.nn.Module, images: list[np.ndarray]) -> None:
        self.images = list(enumerate(images))
        self.pixels = sum(im.shape[0] * im.shape[1] for im in images)
        self.judge = Judge(module, kl_distance)

    def curve(self, encode: Callable[[np.ndarray, Any], bytes], settings: list[Any]
              ) -> list[tuple[float, float]]:
        """(bits per pixel, mean KL) of each setting."""
        points = []
        for s in settings:
            judged = self.judge.points(self.images, lambda im, s=s: encode(im, s))
            points.append((sum(b for b, _ in judged) / self.pixels, float(np.mean([k for _, k in judged]))))
        return points


def plane_bits(planes: list[np.ndarray], table: np.ndarray) -> float:
    """Bits per 8x8 block of libjpeg's baseline, optimized-Huffman coding of greyscale ``planes``."""
    total, blocks = 0, 0
    for p in planes:
        buf = io.BytesIO()
        Image.fromarray(p, "L").save(buf, "JPEG", qtables=[[int(v) for v in table]], optimize=True)
        total += 8 * buf.tell()
        blocks += -(-p.shape[0] // 8) * -(-p.shape[1] // 8)
    return total / blocks


def closed_loop(tables: np.ndarray, planes: list[list[np.ndarray]], lam: float, grid: np.ndarray,
                g_sq: np.ndarray, mse: np.ndarray, passes: int = 2) -> np.ndarray:
    """Coordinate descent of each plane's steps along ``grid`` on real bits + lambda/2 x g^2 x mse."""
    out = np.asarray(tables, dtype=np.float64).copy()
    idx = np.abs(out[..., None] - grid).argmin(-1)  # nearest grid point of each step
    for c in range(3):
        def dist(k: int, j: int, c: int = c) -> float:
            return 0.5 * lam * float(g_sq[c * 64 + k, 0] * mse[c * 64 + k, j])

        cost = plane_bits(planes[c], grid[idx[c]]) + sum(dist(k, idx[c, k]) for k in range(64))
        for _ in range(passes):
            moved = False
            for k in _zigzag():
                if idx[c, k] == len(grid) - 1 and k and idx[c, k - 1 if k % 8 else k - 8] == len(grid) - 1:
                    continue  # deep in the zeroed corner: nothing to gain
                for dj in (-2, -1, 1, 2):
                    j = idx[c, k] + dj
                    if not 0 <= j < len(grid):
                        continue
                    trial = idx[c].copy()
                    trial[k] = j
                    new = plane_bits(planes[c], grid[trial]) + sum(dist(i, trial[i]) for i in range(64))
                    if new < cost - 1e-9:
                        idx[c], cost, moved = trial, new, True
                        break
            if not moved:
                break
        out[c] = grid[idx[c]]
    return out


def dc_difference_rate(coefs: np.ndarray, per_image: int, grid: np.ndarray) -> np.ndarray:
    """(3, G) bits per block of each plane's DC as baseline JPEG codes it: the entropy of the
    size category of the difference from the previous block's quantized DC (raster order,
    4:4:4), plus the category's extra bits."""
    out = np.zeros((3, len(grid)))
    for c in range(3):
        dc = coefs[:, c, 0].reshape(-1, per_image)
        for j, q in enumerate(grid):
            d = np.diff(np.rint(dc / q), axis=1, prepend=0.0).ravel()
            size = np.where(d != 0, np.floor(np.log2(np.maximum(np.abs(d), 1))) + 1, 0).astype(np.int64)
            p = np.bincount(size) / len(size)
            p = p[p > 0]
            out[c, j] = float(-(p * np.log2(p)).sum() + size.mean())
    return out


def bd(ref: list[tuple[float, float]], test: list[tuple[float, float]]) -> str:
    def axis(pts: list[tuple[float, float]]) -> list[float]:
        return neglog10([k for _, k in pts]).tolist()

    v = bd_rate([b for b, _ in ref], axis(ref), [b for b, _ in test], axis(test)).value
    return "n/a" if v is None else f"{100 * v:+.1f}%"


def activity(coefs: np.ndarray) -> np.ndarray:
    """Per block, log(1 + sum |luma AC|): a feature a device computes from its own DCT."""
    return np.log1p(np.abs(coefs[:, 0, 1:]).sum(1))


def adaptive_rdo_encode(image: np.ndarray, tables: np.ndarray, lam: float,
                        fisher_of: object) -> bytes:
    """Each AC coefficient rounded as usual, one step towards zero, or zeroed: whichever
    costs least in (4 + magnitude category) bits + lambda/2 x Fisher x squared error, with
    ``fisher_of(coefs) -> (N, 3, 64)`` weights; written as pre-quantized YCbCr planes."""
    basis = dct_basis()
    h, w = image.shape[:2]
    hp, wp = -(-h // 8) * 8, -(-w // 8) * 8
    ycc = np.pad(np.asarray(Image.fromarray(image).convert("YCbCr")), ((0, hp - h), (0, wp - w), (0, 0)),
                 mode="edge")
    planes = (ycc.astype(np.float64) - 128).transpose(2, 0, 1)
    blocks = planes.reshape(3, hp // 8, 8, wp // 8, 8).transpose(1, 3, 0, 2, 4).reshape(-1, 3, 8, 8)
    s = (basis @ blocks @ basis.T).reshape(-1, 3, 64)
    q = np.asarray(tables, dtype=np.float64)[None]
    f = fisher_of(s)  # type: ignore[operator]

    def cost(k: np.ndarray) -> np.ndarray:
        size = np.where(k != 0, np.floor(np.log2(np.maximum(np.abs(k), 1))) + 1, 0)
        return np.where(k != 0, 4.0 + size, 0.0) + 0.5 * lam * f * (s - k * q) ** 2

    k0 = np.rint(s / q)
    best, best_cost = k0.copy(), cost(k0)
    for k in (k0 - np.sign(k0), np.zeros_like(k0)):
        c = cost(k)
        best, best_cost = np.where(c < best_cost, k, best), np.minimum(c, best_cost)
    best[:, :, 0] = k0[:, :, 0]  # DC is coded differentially: left alone
    rec = basis.T @ (best * q).reshape(-1, 3, 8, 8) @ basis
    pix = rec.reshape(hp // 8, wp // 8, 3, 8, 8).transpose(0, 3, 1, 4, 2).reshape(hp, wp, 3) + 128
    out = np.clip(np.rint(pix), 0, 255).astype(np.uint8)[:h, :w]
    buf = io.BytesIO()
    Image.fromarray(out, "YCbCr").save(buf, "JPEG", qtables=[[int(v) for v in t] for t in tables],
                                       subsampling=0, optimize=True)
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="efficientnet-lite0")
    ap.add_argument("--capture", type=parse_size, default=(1280, 720))
    ap.add_argument("--images", default="native720", help=f"evaluation set: {', '.join(PHOTO_SETS)}")
    ap.add_argument("--max-images", type=int, default=16)
    ap.add_argument("--offset", type=int, default=0, help="skip this many evaluation images first")
    ap.add_argument("--decompose", action="store_true", help="measured rate x Laplacian distortion and back")
    ap.add_argument("--rdo", action="store_true", help="the trailing +-1 zeroing pass")
    ap.add_argument("--rdo-strengths", default="1,0.3")
    ap.add_argument("--adaptive-rdo", action="store_true", help="the rounding/zeroing pass by activity class")
    ap.add_argument("--extra-probe", default=None,
                    help="also probe with this set's photos (never the evaluation images)")
    ap.add_argument("--dc-difference", action="store_true",
                    help="the DC's rate as JPEG codes it (differences), not of its values")
    ap.add_argument("--closed-loop", action="store_true", help="empirical tables refined on real bytes")
    args = ap.parse_args()
    ImageFile.MAXBLOCK = 1 << 26
    torch.set_num_threads(2)
    model = get_model(args.model)
    model.module.eval()
    probe_imgs = [Image.open(p).convert("RGB") for p in probe_set_entries() if p.is_file()]
    held = {image_fingerprint(im) for im in probe_imgs}
    evals = [b.image for b in PHOTO_SETS[args.images]().images if b.fingerprint not in held]
    evals = evals[args.offset: args.offset + args.max_images]
    if args.extra_probe:
        chosen = {image_fingerprint(im) for im in evals}
        extra = [b.image for b in PHOTO_SETS[args.extra_probe]().images
                 if b.fingerprint not in held and b.fingerprint not in chosen]
        probe_imgs += extra
        print(f"probe: {len(extra)} more photos from {args.extra_probe}")
    probe = [np.asarray(fit_to_capture(im, args.capture)) for im in probe_imgs]
    bench = Bench(model.module, [np.asarray(fit_to_capture(im, args.capture)) for im in evals])
    print(f"{args.model} at {args.capture[0]}x{args.capture[1]}: {len(probe)} probe, "
          f"{len(evals)} evaluation images ({args.images}, from #{args.offset})")
    perception = perception_for(probe_rgb(model.module, probe, task=model.task), BT601, "4:4:4",
                                measured=True)
    rd = perception.rate_distortion
    assert rd is not None
    grid = np.asarray(rd.steps, dtype=np.float64)
    g_sq = np.asarray(perception.grad_sq_mean).reshape(-1, 1)
    scale = np.asarray(perception.coef_abs_mean)
    rate_e, mse_e = np.asarray(rd.rate).reshape(192, -1), np.asarray(rd.mse).reshape(192, -1)
    rate_l, mse_l = T.laplacian_rate_distortion(grid[None, :], scale.reshape(-1, 1))

    def yardstick(tables: np.ndarray) -> float:
        """The loss the measured curves predict for any tables: one scale for every variant."""
        flat = np.asarray(tables, dtype=np.float64).reshape(-1)
        return 0.5 * float(sum(g_sq[i, 0] * np.interp(flat[i], grid, mse_e[i]) for i in range(192)))

    def on_grid(rate: np.ndarray, mse: np.ndarray) -> object:
        return lambda lam: grid[T._argmin_largest(rate + 0.5 * lam * g_sq * mse)].reshape(3, 64)

    def lambdas(make: object) -> list[float]:
        out = []
        for q in QUALITIES:
            target, lo, hi = yardstick(T.jpeg_reference_tables(q)), math.log(1e-4), math.log(1e30)
            for _ in range(50):
                mid = 0.5 * (lo + hi)
                ok = yardstick(make(math.exp(mid))) <= target  # type: ignore[operator]
                lo, hi = (lo, mid) if ok else (mid, hi)
            out.append(math.exp(hi))
        return out

    refs = {
        f"jpeg-{n}": bench.curve(lambda im, q, s=s: jpeg(im, q, sub=s), list(QUALITIES))
        for n, s in (("444", 0), ("420", 2))
    }

    def report(name: str, pts: list[tuple[float, float]]) -> None:
        print(f"{name:30s} vs jpeg-444 {bd(refs['jpeg-444'], pts):>8s}   "
              f"vs jpeg-420 {bd(refs['jpeg-420'], pts):>8s}", flush=True)

    fisher, coefs = probe_blocks(model.module, probe, model.task)
    f_mean = fisher.mean(0)
    f_scale = (fisher * np.abs(coefs)).sum(0) / np.maximum(fisher.sum(0), 1e-300)
    variants: dict[str, object] = {
        "laplacian": lambda lam: np.asarray(T.derive_tables(perception, "lagrangian", lam)),
        "laplacian-fisher-scale": lambda lam: laplacian_tables(f_mean, scale, lam, f_scale),
        "empirical": lambda lam: np.asarray(T.derive_tables(perception, "empirical", lam)),
    }
    if args.decompose:
        variants["measured-rate laplacian-dist"] = on_grid(rate_e, mse_l)
        variants["laplacian-rate measured-dist"] = on_grid(rate_l, mse_e)
    if args.dc_difference:
        per_image = len(coefs) // len(probe)
        rate_dc = rate_e.copy()
        rate_dc[[0, 64, 128]] = dc_difference_rate(coefs, per_image, grid)
        print("DC bits per block at steps 2/8/32, values -> differences:",
              "; ".join(f"{'YUV'[c]} " + "/".join(f"{rate_e[64 * c, j]:.2f}->{rate_dc[64 * c, j]:.2f}"
                                               for j in np.searchsorted(grid, [2, 8, 32]))
                        for c in range(3)))
        variants["empirical dc-difference"] = on_grid(rate_dc, mse_e)
    for name, make in variants.items():
        report(name, bench.curve(lambda im, lam, make=make: jpeg(im, tables=make(lam)), lambdas(make)))
    if args.closed_loop:
        ycc = [np.asarray(Image.fromarray(im).convert("YCbCr")) for im in probe]
        planes = [[np.ascontiguousarray(y[..., c]) for y in ycc] for c in range(3)]
        empirical = variants["empirical"]
        lams_e = lambdas(empirical)
        refined = {lam: closed_loop(empirical(lam), planes, lam, grid, g_sq, mse_e)  # type: ignore[operator]
                   for lam in lams_e}
        for lam in lams_e:
            print(f"  lambda {lam:.3g}: steps moved {int((refined[lam] != empirical(lam)).sum())}")  # type: ignore[operator]
        report("empirical closed-loop", bench.curve(lambda im, lam: jpeg(im, tables=refined[lam]), lams_e))
    laplacian = variants["laplacian"]
    lams = lambdas(laplacian)
    if args.rdo:
        for strength in [1e12, *map(float, args.rdo_strengths.split(","))]:
            def encode(im: np.ndarray, lam: float, st: float = strength) -> bytes:
                return rdo_encode(im, laplacian(lam), f_mean, lam, st)  # type: ignore[operator]

            pts = bench.curve(encode, lams)
            report("planes-only" if strength >= 1e12 else f"rdo-x{strength:g}", pts)
    if args.adaptive_rdo:
        act = activity(coefs)
        edges = np.quantile(act, np.linspace(0, 1, 9)[1:-1])
        by_class = np.stack([fisher[np.digitize(act, edges) == c].mean(0) for c in range(8)])
        print("activity octile: mean luma Fisher / pooled:",
              " ".join(f"{x:.2f}" for x in (by_class[:, 0] / np.maximum(f_mean[0], 1e-300)).mean(1)))
        weights = {"pooled": lambda s: np.broadcast_to(f_mean[None], s.shape),
                   "activity-class": lambda s: by_class[np.digitize(activity(s), edges)]}
        for label, fisher_of in weights.items():
            def encode_rdo(im: np.ndarray, lam: float, fo: object = fisher_of) -> bytes:
                return adaptive_rdo_encode(im, laplacian(lam), lam, fo)  # type: ignore[operator]

            pts = bench.curve(encode_rdo, lams)
            report(f"adaptive-rdo {label}", pts)


if __name__ == "__main__":
    main()

"""Allocation experiments: what was tried for the table fit, measured the same way.

Compares, on one model and one capture size, BD-rates (KL divergence from the
clean output against bits) against standard JPEG 4:4:4 and 4:2:0 of:

* ``laplacian``: the shipped per-bin Lagrangian (pooled E[g^2], Laplacian of
  scale E|s|), BT.601 planes;
* ``laplacian-fisher-scale``: the same with the distortion's Laplacian scale
  weighted by each block's Fisher information (captures the correlation of
  gradient and coefficient size in one statistic);
* ``empirical``: per coefficient, sum over probe blocks of the block's Fisher
  weight times the squared rounding error, and the entropy of the quantized
  symbols, for every step (no Laplacian model);
* ``rdo-xS``: the Laplacian tables plus a DNN-weighted rate-distortion pass in
  the encoder (zero a trailing +-1 coefficient when its estimated bits exceed
  S x lambda/2 x pooled Fisher weight x added squared error), on planes made
  with Pillow's YCbCr conversion; ``planes-only`` is that path without zeroing.

The probe uses the fitter's own probe (:func:`pillow_grace.fit.probe_rgb`); the
per-block Fisher weights needed by ``empirical`` and the Fisher-weighted scale
come from one extra pass here. Findings are summarised in docs/fitting.md.

    python benchmarks/allocation_experiments.py --model efficientnet-lite0 --capture 1280x720
"""

from __future__ import annotations

import argparse
import io
import math

import numpy as np
import torch
from PIL import Image, ImageFile

if __name__ == "__main__":
    import _path  # noqa: F401  (the checkout on sys.path)

from benchmarks.photo_sets import PHOTO_SETS, probe_set_entries
from pillow_grace import colour
from pillow_grace import tables as T
from pillow_grace.bench.bdrate import bd_rate
from pillow_grace.fit.dct import block_dct, dct_basis
from pillow_grace.fit.images import fit_to_capture, image_fingerprint, parse_size
from pillow_grace.fit.labels import Labels
from pillow_grace.fit.select import decode, kl_distance
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


class Empirical:
    """Per (channel, bin) and step: mean Fisher-weighted squared error and symbol entropy."""

    def __init__(self, fisher: np.ndarray, coefs: np.ndarray, max_blocks: int = 60000) -> None:
        if len(fisher) > max_blocks:
            keep = np.random.default_rng(0).choice(len(fisher), max_blocks, replace=False)
            fisher, coefs = fisher[keep], coefs[keep]
        n = len(fisher)
        self.dist = np.zeros((192, 255))
        self.rate = np.zeros((192, 255))
        for c in range(3):
            for b in range(64):
                values, inverse = np.unique(np.round(coefs[:, c, b] * 4) / 4, return_inverse=True)
                count = np.bincount(inverse).astype(np.float64)
                weight = np.bincount(inverse, weights=fisher[:, c, b])
                k = np.rint(values[None, :] / STEPS[:, None])
                self.dist[c * 64 + b] = ((values[None, :] - k * STEPS[:, None]) ** 2 * weight).sum(1) / n
                shifted = (k - k.min(1, keepdims=True)).astype(np.int64)
                for i in range(255):
                    p = np.bincount(shifted[i], weights=count)
                    p = p[p > 0] / n
                    self.rate[c * 64 + b, i] = -(p * np.log2(p)).sum()

    def tables(self, lam: float) -> np.ndarray:
        return STEPS[T._argmin_largest(self.rate + 0.5 * lam * self.dist)].reshape(3, 64)

    def loss(self, tables: np.ndarray) -> float:
        idx = np.asarray(tables).reshape(-1).astype(int) - 1
        return 0.5 * float(self.dist[np.arange(192), idx].sum())


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
    def __init__(self, module: torch.nn.Module, images: list[np.ndarray]) -> None:
        self.module, self.images = module, images
        self.pixels = sum(im.shape[0] * im.shape[1] for im in images)
        with torch.no_grad():
            self.clean = [module(self._x(im)) for im in images]

    @staticmethod
    def _x(im: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.array(im)[None]).permute(0, 3, 1, 2).float().div(255)

    def curve(self, encode: object, settings: list[object]) -> list[tuple[float, float]]:
        points = []
        for s in settings:
            data = [encode(im, s) for im in self.images]  # type: ignore[operator]
            with torch.no_grad():
                kl = [
                    kl_distance(c, self.module(self._x(decode(d))))
                    for c, d in zip(self.clean, data, strict=True)
                ]
            points.append((8 * sum(map(len, data)) / self.pixels, float(np.mean(kl))))
        return points


def bd(ref: list[tuple[float, float]], test: list[tuple[float, float]]) -> str:
    def axis(pts: list[tuple[float, float]]) -> list[float]:
        return [-math.log10(max(k, 1e-12)) for _, k in pts]

    v = bd_rate([b for b, _ in ref], axis(ref), [b for b, _ in test], axis(test)).value
    return "n/a" if v is None else f"{100 * v:+.1f}%"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="efficientnet-lite0")
    ap.add_argument("--capture", type=parse_size, default=(1280, 720))
    ap.add_argument("--images", default="offline", help=f"evaluation set: {', '.join(PHOTO_SETS)}")
    ap.add_argument("--max-images", type=int, default=40)
    ap.add_argument("--rdo-strengths", default="1,0.3")
    args = ap.parse_args()
    ImageFile.MAXBLOCK = 1 << 26
    torch.set_num_threads(2)
    model = get_model(args.model)
    model.module.eval()
    probe_imgs = [Image.open(p).convert("RGB") for p in probe_set_entries() if p.is_file()]
    held = {image_fingerprint(im) for im in probe_imgs}
    evals = [b.image for b in PHOTO_SETS[args.images]().images if b.fingerprint not in held][
        : args.max_images
    ]
    probe = [np.asarray(fit_to_capture(im, args.capture)) for im in probe_imgs]
    bench = Bench(model.module, [np.asarray(fit_to_capture(im, args.capture)) for im in evals])
    print(
        f"{args.model} at {args.capture[0]}x{args.capture[1]}: "
        f"{len(probe)} probe, {len(evals)} evaluation images"
    )
    fisher, coefs = probe_blocks(model.module, probe, model.task)
    f_mean, scale = fisher.mean(0), np.abs(coefs).mean(0)
    f_scale = (fisher * np.abs(coefs)).sum(0) / np.maximum(fisher.sum(0), 1e-300)
    emp = Empirical(fisher, coefs)
    refs = {
        f"jpeg-{n}": bench.curve(lambda im, q, s=s: jpeg(im, q, sub=s), list(QUALITIES))
        for n, s in (("444", 0), ("420", 2))
    }

    def lambdas(make: object) -> list[float]:
        out = []
        for q in QUALITIES:
            target, lo, hi = emp.loss(T.jpeg_reference_tables(q)), math.log(1e-4), math.log(1e30)
            for _ in range(50):
                mid = 0.5 * (lo + hi)
                lo, hi = (lo, mid) if emp.loss(make(math.exp(mid))) <= target else (mid, hi)  # type: ignore[operator]
            out.append(math.exp(hi))
        return out

    variants = {
        "laplacian": lambda lam: laplacian_tables(f_mean, scale, lam),
        "laplacian-fisher-scale": lambda lam: laplacian_tables(f_mean, scale, lam, f_scale),
        "empirical": emp.tables,
    }
    for name, make in variants.items():
        pts = bench.curve(lambda im, lam, make=make: jpeg(im, tables=make(lam)), lambdas(make))
        print(
            f"{name:26s} vs jpeg-444 {bd(refs['jpeg-444'], pts):>8s}   "
            f"vs jpeg-420 {bd(refs['jpeg-420'], pts):>8s}"
        )
    lams = lambdas(variants["laplacian"])
    for strength in [1e12, *map(float, args.rdo_strengths.split(","))]:
        pts = bench.curve(
            lambda im, lam, st=strength: rdo_encode(
                im, laplacian_tables(f_mean, scale, lam), f_mean, lam, st
            ),
            lams,
        )
        label = "planes-only" if strength >= 1e12 else f"rdo-x{strength:g}"
        print(
            f"{label:26s} vs jpeg-444 {bd(refs['jpeg-444'], pts):>8s}   "
            f"vs jpeg-420 {bd(refs['jpeg-420'], pts):>8s}"
        )


if __name__ == "__main__":
    main()

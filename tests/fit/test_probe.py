"""The perception probe, against models whose perception is known by construction."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from grace_fit_models import (  # noqa: E402
    BlockDC,
    BlueBlind,
    Classifier,
    LowPass,
    Luma,
    Segmenter,
    images,
)

from pillow_grace.core import colour  # noqa: E402
from pillow_grace.core.strategy import MIN_WEIGHT  # noqa: E402
from pillow_grace.fit import fit_strategy, plane_statistics, probe_rgb  # noqa: E402
from pillow_grace.fit.dct import block_dct, block_idct  # noqa: E402

# A trade-off large enough that every bin the model can see gets a fine step,
# so "255 exactly where the model is blind" is a real distinction.
FINE = 1e9


def _grid(strategy, c: int = 0) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.asarray(strategy.tables[c]).reshape(8, 8)


def test_model_blind_to_ac_gets_maximal_steps_there() -> None:
    s = fit_strategy(BlockDC(), images(3), name="dc-only", tradeoff=FINE)
    for c in range(3):
        t = _grid(s, c)
        assert t[0, 0] < 255
        assert np.all(t.ravel()[1:] == 255)
    g_sq = np.asarray(s.perception.grad_sq_mean)
    assert np.all(g_sq[:, 1:] < 1e-12 * g_sq[:, :1])


def test_model_blind_to_high_frequencies_gets_maximal_steps_there() -> None:
    s = fit_strategy(LowPass(cut=4), images(3), name="low-pass", tradeoff=FINE)
    u, v = np.meshgrid(np.arange(8), np.arange(8), indexing="ij")
    seen = (u < 4) & (v < 4)
    for c in range(3):
        t = _grid(s, c)
        assert np.all(t[~seen] == 255)
        assert np.all(t[seen] < 255)


def test_colour_blind_model_recovers_its_own_weights_and_empties_u_and_v() -> None:
    """A model that sees only Y = 0.2 R + 0.5 G + 0.3 B: Theorem 2 must return
    exactly those weights, after which U and V carry no sensitivity at all."""
    # The Laplacian model: it gives a bin without sensitivity exactly 255 (the measured curves
    # weigh the 1/1024 rounding residue in U and V against a few bits).
    s = fit_strategy(Luma((0.2, 0.5, 0.3)), images(3), name="luma", tradeoff=FINE, allocation="lagrangian")
    assert s.weights == pytest.approx((0.2, 0.5, 0.3), abs=1e-6)
    assert not s.provenance["weights_clamped"]
    g = np.asarray(s.perception.grad_abs_mean)
    assert g[1].sum() < 5e-3 * g[0].sum() and g[2].sum() < 5e-3 * g[0].sum()  # 1/1024 matrix rounding
    assert np.all(np.asarray(s.tables[1]) == 255) and np.all(np.asarray(s.tables[2]) == 255)
    assert np.asarray(s.tables[0]).max() < 255
    # With BT.601 instead, the same model leaves sensitivity in the chroma planes.
    bt = fit_strategy(Luma((0.2, 0.5, 0.3)), images(3), name="luma-bt601", tradeoff=FINE, weights="bt601")
    gb = np.asarray(bt.perception.grad_abs_mean)
    assert gb[1].sum() > 0.05 * gb[0].sum()


def test_blue_blind_model_gets_the_minimum_blue_weight() -> None:
    s = fit_strategy(BlueBlind(), images(3), name="no-blue", tradeoff=FINE)
    assert s.weights[2] == MIN_WEIGHT
    assert s.provenance["weights_clamped"] is True
    assert s.provenance["colour_ratios"][1] == pytest.approx(0.0, abs=1e-9)  # median g_B / g_G
    # U = (B - Y) / ...: its sensitivity is only the Wb/Wg g_G leak left by the clamp,
    # smaller than with BT.601's larger Wb.
    bt = fit_strategy(BlueBlind(), images(3), name="no-blue-bt601", tradeoff=FINE, weights="bt601")
    g, gb = np.asarray(s.perception.grad_abs_mean), np.asarray(bt.perception.grad_abs_mean)
    assert g[1].sum() / g[0].sum() < 0.7 * gb[1].sum() / gb[0].sum()


# -- one RGB pass == a direct probe in G-YUV ---------------------------------------------
def _direct_gyuv_probe(model, frames, weights, subsampling):  # type: ignore[no-untyped-def]
    """Algorithm 2 lines 6-8 done literally: the G-YUV block-DCT coefficients are
    leaf tensors, the image is rebuilt from them (IDCT, chroma upsampling,
    inverse colour transform) and the model's argmax NLL is differentiated."""
    fx, fy = {"4:4:4": (1, 1), "4:2:0": (2, 2)}[subsampling]
    mh, mw = 8 * fy, 8 * fx
    m = torch.from_numpy(colour.forward_matrix(weights))  # the encoder's planes (coefficient stats)
    inv = torch.from_numpy(colour.inverse_matrix(weights))  # the decoder's way back to RGB
    exact = torch.linalg.inv(inv[:, :3])  # planes that the decoder maps to exactly this frame
    sums = {k: torch.zeros(3, 64, dtype=torch.float64) for k in ("abs", "sq", "coef")}
    counts = [0, 0, 0]
    for frame in frames:
        h, w = frame.shape[:2]
        hp, wp = -(-h // mh) * mh, -(-w // mw) * mw
        rgb = torch.from_numpy(frame).double().permute(2, 0, 1)

        def coefficients(planes: torch.Tensor, pad: tuple[int, int, int, int] = (0, wp - w, 0, hp - h)
                         ) -> tuple[torch.Tensor, torch.Tensor]:
            planes = F.pad(planes[None], pad, mode="replicate")[0]
            chroma = F.avg_pool2d(planes[None, 1:], (fy, fx))[0] if fx > 1 else planes[1:]
            return block_dct(planes[0]), block_dct(chroma)

        coded = coefficients(torch.einsum("cd,dhw->chw", m[:, :3], rgb) + m[:, 3].view(3, 1, 1) - 128.0)
        leaves = coefficients(torch.einsum("cd,dhw->chw", exact, rgb - inv[:, 3].view(3, 1, 1)) - 128.0)
        y_coef, c_coef = (t.detach().requires_grad_(True) for t in leaves)
        y = block_idct(y_coef)
        c = block_idct(c_coef)
        if fx > 1:
            c = c.repeat_interleave(fy, dim=-2).repeat_interleave(fx, dim=-1)
        rebuilt = torch.cat([y[None], c])[:, :h, :w] + 128.0
        rgb_back = torch.einsum("cd,dhw->chw", inv[:, :3], rebuilt) + inv[:, 3].view(3, 1, 1)
        assert torch.allclose(rgb_back, rgb, atol=1e-6)  # the leaves really describe the frame
        out = model((rgb_back / 255.0).float()[None])
        F.cross_entropy(out, out.detach().argmax(1)).backward()
        for coef, value, rows in ((y_coef, coded[0], [0]), (c_coef, coded[1], [1, 2])):
            g = coef.grad.reshape(len(rows), -1, 64)
            sums["abs"][rows] += g.abs().sum(1)
            sums["sq"][rows] += (g**2).sum(1)
            sums["coef"][rows] += value.reshape(len(rows), -1, 64).abs().sum(1)
            for r in rows:
                counts[r] += g.shape[1]
    n = torch.tensor(counts, dtype=torch.float64).view(3, 1)
    return {k: (v / n).numpy() for k, v in sums.items()}


@pytest.mark.parametrize(("subsampling", "size", "upsample"), [("4:4:4", (61, 45), False),
                                                                ("4:2:0", (64, 48), True)])
def test_one_rgb_probe_equals_a_direct_probe_in_gyuv(subsampling: str, size: tuple[int, int],
                                                      upsample: bool) -> None:
    """g_planes = M^-T g_rgb and s_planes = M s_rgb per coefficient, so the G-YUV
    statistics derived from the RGB probe must equal a second, direct probe in
    G-YUV. 4:4:4 uses a size that needs padding; for 4:2:0 the frames are 2x2
    constant so that subsampling loses nothing and both probes see one image."""
    frames = images(2, size, seed=4)
    if upsample:
        frames = [f[::2, ::2].repeat(2, 0).repeat(2, 1) for f in frames]
    model = Classifier(classes=7, seed=2)
    weights = (0.25, 0.6, 0.15)
    probe = probe_rgb(model, frames, loss="argmax", subsampling=subsampling)
    ours = plane_statistics(probe, weights)
    direct = _direct_gyuv_probe(model, frames, weights, subsampling)
    for key, ref in (("grad_abs_mean", "abs"), ("grad_sq_mean", "sq"), ("coef_abs_mean", "coef")):
        assert np.allclose(ours[key], direct[ref], rtol=2e-3, atol=1e-3 * np.abs(direct[ref]).max()), key
    assert np.abs(direct["sq"]).max() > 0


# -- the Fisher estimate ---------------------------------------------------------------
def test_grad_sq_is_the_mean_of_squared_per_label_gradients() -> None:
    """With few classes the probe takes the expectation over labels exactly:
    E_y[g_y^2] = sum_y p_y g_y^2. Computed here label by label. The gradient of
    the *averaged* loss, sum_y p_y g_y, is exactly zero (the score has mean
    zero), so squaring it would give nothing: the probe must not do that."""
    model = Classifier(classes=4, seed=1)
    frames = images(2, (32, 24), seed=5)
    weights = (0.3, 0.5, 0.2)
    probe = probe_rgb(model, frames, loss="sampled", label_samples=8)
    assert "exact" in probe.estimator
    ours = plane_statistics(probe, weights)["grad_sq_mean"]
    a = colour.inverse_matrix(weights)[:, :3].T  # d rgb / d planes, transposed
    total = np.zeros((3, 64))
    mean_grad_sq = np.zeros((3, 64))
    for f in frames:
        x = (torch.from_numpy(f).permute(2, 0, 1).float() / 255)[None].requires_grad_(True)
        out = model(x)
        p = torch.softmax(out.detach().double(), 1)[0]
        mean_grad = 0
        for y in range(4):
            (g,) = torch.autograd.grad(F.cross_entropy(out, torch.tensor([y])), x, retain_graph=True)
            coef = block_dct(g[0].double() / 255).reshape(3, -1, 64).numpy()  # (3, blocks, 64)
            planes = np.einsum("cd,dbk->cbk", a, coef)
            total += float(p[y]) * (planes**2).mean(1)
            mean_grad = mean_grad + float(p[y]) * planes
        mean_grad_sq += (mean_grad**2).mean(1)
    total /= len(frames)
    mean_grad_sq /= len(frames)
    assert np.allclose(ours, total, rtol=1e-3, atol=1e-6 * total.max())
    assert mean_grad_sq.max() < 1e-6 * total.max()


def test_stratified_label_sampling_is_unbiased() -> None:
    """Top class exactly + K labels from the rest: over seeds, the estimate
    averages to the exact expectation over all classes."""
    model = Classifier(classes=12, seed=0)
    frames = images(2, (32, 24), seed=6)
    w = (0.3, 0.5, 0.2)
    exact = plane_statistics(probe_rgb(model, frames, label_samples=11), w)["grad_sq_mean"].sum()
    runs = [plane_statistics(probe_rgb(model, frames, label_samples=3, seed=s), w)["grad_sq_mean"].sum()
            for s in range(12)]
    assert np.mean(runs) == pytest.approx(exact, rel=0.15)
    assert np.std(runs) > 0  # it really samples


def test_sampled_labels_see_what_argmax_misses_on_a_confident_model() -> None:
    """At a confident prediction the argmax NLL gradient J^T (p - e_top) is
    O(1 - p_top), its square O((1 - p_top)^2), while the Fisher E_y[g_y^2] is
    O(1 - p_top): the paper's argmax probe under-states sensitivity by about
    1 / (1 - p_top). (Mean |g| is O(1 - p_top) for both: only squares separate them.)"""
    model = Classifier(classes=10, seed=0, temperature=0.05)
    frames = images(3, (32, 24), seed=7)
    with torch.no_grad():
        x = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 255
        p_top = torch.softmax(model(x).double(), 1).max(1).values
    assert float(p_top.min()) > 0.99
    w = (0.3, 0.5, 0.2)
    sampled = plane_statistics(probe_rgb(model, frames, loss="sampled", label_samples=4), w)
    argmax = plane_statistics(probe_rgb(model, frames, loss="argmax"), w)
    assert sampled["grad_sq_mean"].sum() > 30 * argmax["grad_sq_mean"].sum()


# -- storage budget, tasks, losses ---------------------------------------------------------
def test_gradient_storage_budget_keeps_fisher_exact() -> None:
    model = Classifier(classes=10, seed=3)
    frames = images(3, (96, 64), seed=8)
    w = (0.3, 0.5, 0.2)
    full = probe_rgb(model, frames, label_samples=2)
    small = probe_rgb(model, frames, label_samples=2, max_stored_values=20_000)
    assert full.stored_fraction == 1.0 and 0 < small.stored_fraction < 0.5
    a, b = plane_statistics(full, w), plane_statistics(small, w)
    assert np.allclose(a["grad_sq_mean"], b["grad_sq_mean"], rtol=1e-9)  # always from every block
    assert np.allclose(a["coef_abs_mean"], b["coef_abs_mean"], rtol=1e-9)
    assert b["grad_abs_mean"].sum() == pytest.approx(a["grad_abs_mean"].sum(), rel=0.3)


def test_padding_counts_whole_mcus() -> None:
    frames = images(1, (61, 45), seed=9)
    p = probe_rgb(Classifier(), frames, loss="argmax")
    assert p.luma_blocks == 8 * 6 and p.extra["padded_size"] == [64, 48]
    p = probe_rgb(Classifier(), frames, loss="argmax", subsampling="4:2:0")
    assert p.luma_blocks == 8 * 6 and p.chroma_blocks == 4 * 3 and p.extra["padded_size"] == [64, 48]


def test_segmentation_and_custom_losses() -> None:
    frames = images(2, (32, 24), seed=10)
    seg = probe_rgb(Segmenter(), frames, task="segmentation", label_samples=3)
    assert seg.estimator.startswith("3 label maps") and seg.moment_luma[0, 0].sum() > 0

    calls = []

    def loss(output: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
        calls.append(output.shape[0])
        return ((output - clean - 1.0) ** 2).sum()

    custom = probe_rgb(Classifier(), frames, task="detection", loss=loss, batch_size=2)
    assert calls == [1, 1]  # called per image, so each image gets its own gradient
    assert custom.loss_kind == "custom" and custom.moment_luma[0, 0].sum() > 0


def test_probe_rejects_wrong_output_shapes_and_options() -> None:
    frames = images(1, (16, 16))
    with pytest.raises(ValueError, match="N x C logits"):
        probe_rgb(Segmenter(), frames, task="classification")
    with pytest.raises(ValueError, match="built-in loss"):
        probe_rgb(Classifier(), frames, task="detection")
    with pytest.raises(ValueError, match="subsampling"):
        probe_rgb(Classifier(), frames, subsampling="4:1:1")
    with pytest.raises(ValueError, match="capture resolution"):
        probe_rgb(Classifier(), [*frames, images(1, (24, 16))[0]])

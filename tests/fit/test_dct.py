"""The probe's block DCT must be libjpeg's: same scaling, same orientation, natural order."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from pillow_grace.fit.dct import (  # noqa: E402
    block_dct,
    block_dct_np,
    block_idct,
    block_idct_np,
    dct_basis,
)


def _jpeg_roundtrip_grey(pixels: np.ndarray, table: list[int]) -> np.ndarray:
    """Encode an 8-bit grey image with libjpeg (through Pillow) and one table; decode it."""
    buf = io.BytesIO()
    Image.fromarray(pixels, "L").save(buf, "JPEG", qtables=[table], optimize=True)
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im, dtype=np.float64)


def _basis_image(u: int, v: int, amplitude: float, blocks: tuple[int, int] = (3, 4)) -> np.ndarray:
    """Tiled blocks whose only non-zero coefficient (in our units) is S[u, v] = amplitude."""
    d = dct_basis()
    block = 128.0 + amplitude * np.outer(d[u], d[v])
    return np.tile(block, blocks)


def test_basis_is_orthonormal_and_torch_matches_numpy() -> None:
    d = dct_basis()
    assert np.allclose(d @ d.T, np.eye(8), atol=1e-14)
    x = np.random.default_rng(0).uniform(-128, 127, (2, 3, 16, 24))
    s = block_dct_np(x)
    assert s.shape == (2, 3, 2, 3, 64)
    assert np.allclose(block_dct(torch.from_numpy(x)).numpy(), s, atol=1e-10)
    assert np.allclose(block_idct_np(s), x, atol=1e-10)
    assert np.allclose(block_idct(torch.from_numpy(s)).numpy(), x, atol=1e-10)
    # DC of a flat block is 8 x its level (libjpeg: sum / 8).
    assert block_dct_np(np.full((8, 8), 10.0))[0, 0, 0] == pytest.approx(80.0)


@pytest.mark.parametrize(("u", "v"), [(0, 1), (1, 0), (1, 2), (3, 5), (7, 7), (6, 1)])
def test_single_coefficient_survives_libjpeg_with_step_equal_to_its_amplitude(u: int, v: int) -> None:
    """An image that is one basis function of amplitude A, coded with step A at that
    bin (natural order index 8u+v) and 255 elsewhere, must come back unchanged:
    the coefficient is exactly one step. With step 3A it must vanish (0.33 rounds
    to 0), so libjpeg's coefficient is not larger than ours; with the step put at
    the transposed bin it must vanish too, so rows are vertical frequencies."""
    amplitude = 60.0
    img = _basis_image(u, v, amplitude)
    pixels = np.rint(img).astype(np.uint8)
    table = [255] * 64
    table[8 * u + v] = int(amplitude)
    decoded = _jpeg_roundtrip_grey(pixels, table)
    assert np.abs(decoded - img).max() <= 1.5
    assert np.abs(pixels.astype(float) - 128).max() > 5  # the pattern is really there

    table3 = [255] * 64
    table3[8 * u + v] = int(3 * amplitude)
    assert np.abs(_jpeg_roundtrip_grey(pixels, table3) - 128).max() <= 1.0

    if u != v:
        swapped = [255] * 64
        swapped[8 * v + u] = int(amplitude)
        assert np.abs(_jpeg_roundtrip_grey(pixels, swapped) - 128).max() <= 1.0


def test_quantisation_model_matches_libjpeg_on_a_random_image() -> None:
    """Every coefficient libjpeg codes is what our DCT predicts: round(S / q) in our
    units equals libjpeg's quantized level (read back as the DCT of the decoded
    image, which is exact when nothing clips). The only disagreements allowed are
    coefficients within a hair of a rounding boundary, where libjpeg's integer
    DCT round-off decides; a wrong scale or bin order would disagree everywhere."""
    rng = np.random.default_rng(1)
    small = rng.uniform(60, 195, (6, 8))
    img = np.kron(small, np.ones((8, 8))) + rng.normal(0, 10, (48, 64))
    pixels = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    table = rng.integers(4, 40, 64).tolist()
    decoded = _jpeg_roundtrip_grey(pixels, table)
    assert 0 < decoded.min() and decoded.max() < 255  # no clipping: decoded levels are exact
    q = np.asarray(table, dtype=np.float64)
    libjpeg_levels = block_dct_np(decoded - 128.0) / q
    assert np.abs(libjpeg_levels - np.rint(libjpeg_levels)).max() < 0.25
    ours = block_dct_np(pixels.astype(np.float64) - 128.0) / q
    ours_levels = np.sign(ours) * np.floor(np.abs(ours) + 0.5)  # libjpeg rounds half away from 0
    differ = np.rint(libjpeg_levels) != ours_levels
    assert differ.mean() < 0.02
    assert np.all(np.abs(np.abs(ours[differ] % 1.0) - 0.5) < 0.03)
    assert np.count_nonzero(ours_levels) > 200  # the test image really exercises many bins

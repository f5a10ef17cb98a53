"""The colour matrices are fixed-point, so every implementation computes the
same exactly rounded planes: Pillow's float32 matrix conversion, cv2.transform
and the integer reference (pillow_grace.core.colour.reference_transform)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pillow_grace.core import colour

WEIGHTS = [colour.BT601, (0.25, 0.45, 0.30), (0.4, 0.4, 0.2), (0.05, 0.05, 0.9), (0.9, 0.05, 0.05),
           (0.05, 0.9, 0.05), (1 / 3, 1 / 3, 1 / 3)]


def colours(n: int = 1 << 18, seed: int = 0) -> np.ndarray:
    """Random colours plus the cube's grey axis, corners and edges (where
    clipping and ties happen), as an image-shaped uint8 array."""
    rng = np.random.default_rng(seed)
    grey = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
    ramp = np.arange(256, dtype=np.uint8)
    edges = [np.stack([ramp, np.full(256, a, np.uint8), np.full(256, b, np.uint8)], 1)
             for a in (0, 255) for b in (0, 255)]
    edges += [e[:, [1, 0, 2]] for e in edges] + [e[:, [1, 2, 0]] for e in edges]
    pts = np.concatenate([grey, *edges, rng.integers(0, 256, (n, 3), dtype=np.uint8)])
    pad = (-len(pts)) % 512
    return np.concatenate([pts, pts[:pad]]).reshape(-1, 512, 3)


@pytest.fixture(params=["cv2", "pillow"])
def conversion(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with each implementation rgb_to_planes/planes_to_rgb may use:
    cv2.transform when OpenCV is importable, Pillow's matrix conversion else."""
    if request.param == "cv2":
        pytest.importorskip("cv2")
    else:
        monkeypatch.setattr(colour, "_cv2_module", None)
    return str(request.param)


@pytest.mark.parametrize("weights", WEIGHTS)
def test_pillow_path_equals_integer_reference(weights: tuple[float, float, float], conversion: str) -> None:
    rgb = colours()
    planes = colour.rgb_to_planes(Image.fromarray(rgb), weights)
    assert planes.mode == "YCbCr"
    expected = colour.reference_transform(rgb, colour.forward_fixed(weights))
    np.testing.assert_array_equal(np.asarray(planes), expected)
    for labelled in (planes, Image.fromarray(expected)):  # as YCbCr, and as RGB-labelled planes
        back = colour.planes_to_rgb(labelled, weights)
        assert back.mode == "RGB"
        np.testing.assert_array_equal(
            np.asarray(back), colour.reference_transform(expected, colour.inverse_fixed(weights))
        )


@pytest.mark.parametrize("weights", WEIGHTS)
def test_cv2_transform_equals_integer_reference(weights: tuple[float, float, float]) -> None:
    cv2 = pytest.importorskip("cv2")
    rgb = colours(seed=1)
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    fwd = colour.forward_matrix(weights)
    planes = colour.reference_transform(rgb, colour.forward_fixed(weights))
    np.testing.assert_array_equal(cv2.transform(bgr, fwd[:, [2, 1, 0, 3]]), planes)
    noisy = colours(seed=2)  # arbitrary planes: a lossy decode gives any value
    np.testing.assert_array_equal(
        cv2.transform(noisy, colour.inverse_matrix(weights)[[2, 1, 0]]),
        colour.reference_transform(noisy, colour.inverse_fixed(weights))[:, :, ::-1],
    )


def test_large_image_threaded_path_is_exact(conversion: str) -> None:
    # above the strip threshold, so the image is converted in parallel strips
    rgb = np.random.default_rng(3).integers(0, 256, (700, 800, 3), dtype=np.uint8)
    assert rgb.shape[0] * rgb.shape[1] >= colour._PARALLEL_MIN_PIXELS
    weights = (0.2, 0.5, 0.3)
    planes = colour.rgb_to_planes(Image.fromarray(rgb), weights)
    expected = colour.reference_transform(rgb, colour.forward_fixed(weights))
    np.testing.assert_array_equal(np.asarray(planes), expected)
    back = colour.planes_to_rgb(planes, weights)
    np.testing.assert_array_equal(
        np.asarray(back), colour.reference_transform(expected, colour.inverse_fixed(weights))
    )


@pytest.mark.parametrize("weights", WEIGHTS)
def test_fixed_point_structure(weights: tuple[float, float, float]) -> None:
    fwd, inv = colour.forward_fixed(weights), colour.inverse_fixed(weights)
    assert fwd[0, :3].sum() == colour.SCALE  # Y of grey is grey
    assert fwd[1, :3].sum() == 0 and fwd[2, :3].sum() == 0  # chroma of grey is 128
    # sum-preserving rounding: each coefficient within one unit of 1/1024
    assert np.abs(fwd[:, :3] / colour.SCALE - colour_real(weights)).max() < 1 / colour.SCALE
    assert (inv[:, 0] == colour.SCALE).all()
    grey = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=2)
    planes = colour.reference_transform(grey, fwd)
    np.testing.assert_array_equal(planes[..., 0], grey[..., 0])
    assert (planes[..., 1:] == 128).all()
    np.testing.assert_array_equal(colour.reference_transform(planes, inv), grey)
    # the float form is exactly the fixed form, and within the float32-exact range
    np.testing.assert_array_equal(colour.forward_matrix(weights) * colour.SCALE, fwd)
    np.testing.assert_array_equal(colour.inverse_matrix(weights) * colour.SCALE, inv)


def colour_real(weights: tuple[float, float, float]) -> np.ndarray:
    wr, wg, wb = weights
    return np.array([[wr, wg, wb],
                     [-wr / (2 * (1 - wb)), -wg / (2 * (1 - wb)), 0.5],
                     [0.5, -wg / (2 * (1 - wr)), -wb / (2 * (1 - wr))]])


def test_round_trip_error_is_small() -> None:
    rgb = colours()
    for weights in WEIGHTS:
        planes = colour.reference_transform(rgb, colour.forward_fixed(weights))
        back = colour.reference_transform(planes, colour.inverse_fixed(weights))
        err = np.abs(back.astype(int) - rgb)
        # 3 only at the extreme weights allowed (0.05): the inverse amplifies rounding by 1/W
        assert err.max() <= (3 if min(weights) < 0.1 else 2), weights
        assert err.mean() < 0.55


def test_rejects_wrong_modes() -> None:
    with pytest.raises(ValueError, match="RGB"):
        colour.rgb_to_planes(Image.new("L", (4, 4)), colour.BT601)
    with pytest.raises(ValueError, match="3-band"):
        colour.planes_to_rgb(Image.new("RGBA", (4, 4)), colour.BT601)
    with pytest.raises(ValueError, match=r"0\.05"):  # G = (Y - ...) / Wg: huge coefficients
        colour.inverse_matrix((0.5, 0.0001, 0.4999))

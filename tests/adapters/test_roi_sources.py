"""ROI sources for camera streams (grace_opencv.roi) and roi= through the cv2 adapter."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

cv2 = pytest.importorskip("cv2")
import grace_opencv as gcv  # noqa: E402
from grace_opencv.roi import (  # noqa: E402
    CameraMotionRoi,
    FeedbackRoi,
    MotionRoi,
    boxes_to_blocks,
    mask_to_blocks,
    union,
)
from pillow_grace.core.colour import BT601  # noqa: E402

W, H = 160, 128


def scene(t: int, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A fixed camera: a textured static background with sensor noise, and a
    bright 24x24 square walking right 3 pixels a frame. Returns (BGR frame, its box)."""
    y, x = np.mgrid[0:H, 0:W]
    bg = (100 + 40 * np.sin(x / 7.0) * np.cos(y / 11.0)).astype(np.float64)
    frame = bg[..., None].repeat(3, axis=2) + rng.normal(0, 2, (H, W, 3))
    x0, y0 = 10 + 3 * t, 60
    frame[y0 : y0 + 24, x0 : x0 + 24] = (30, 220, 240)
    return np.clip(frame, 0, 255).astype(np.uint8), (x0, y0, x0 + 24, y0 + 24)


def test_motion_follows_the_moving_object_and_not_the_static_background() -> None:
    rng = np.random.default_rng(0)
    motion = MotionRoi(block=16, margin=1, scale=0.5)
    maps = []
    for t in range(30):
        frame, box = scene(t, rng)
        maps.append((motion(frame), box))
    assert maps[0][0].all()  # the first frame: nothing known yet, everything is sent
    for m, box in maps[10:]:
        assert m.shape == (H // 16, W // 16)
        assert boxes_to_blocks([box], W, H, 16).sum() > 0
        # The object's blocks are in the map (its leading part at least), the top rows are not.
        assert (m & boxes_to_blocks([box], W, H, 16)).any()
        assert not m[:2].any()


def test_motion_refresh_sends_the_whole_frame_every_n_frames() -> None:
    rng = np.random.default_rng(1)
    motion = MotionRoi(refresh=5, scale=0.5)
    full = [bool(motion(scene(t, rng)[0]).all()) for t in range(16)]
    assert full == [t % 5 == 0 for t in range(16)]


def test_motion_margin_grows_the_map() -> None:
    rng = np.random.default_rng(2)
    tight, wide = MotionRoi(margin=0, scale=0.5), MotionRoi(margin=2, scale=0.5)
    for t in range(15):
        frame, _ = scene(t, rng)
        a, b = tight(frame), wide(frame)
    assert a.sum() > 0 and (b & a).sum() == a.sum() and b.sum() > a.sum()


# -- a moving camera ------------------------------------------------------------------
PW, PH = 320, 256
#: A smooth random texture larger than the frame: the scene a panning camera looks at.
WORLD = np.clip(110 + 50 * (lambda n: n / n.std())(
    cv2.GaussianBlur(np.random.default_rng(5).normal(0, 1, (PH + 120, PW + 200)), (0, 0), 6)), 0, 255)


def panning(t: int, rng: np.random.Generator, dx: int = 4, dy: int = 2,
            world: np.ndarray = WORLD) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A camera panning ``dx`` right and ``dy`` down per frame over a textured scene (so the
    scene slides left and up in the frame), with sensor noise, and a 32x32 square walking left
    5 pixels a frame in the frame. Returns (BGR frame, the square's box)."""
    x, y = 10 + dx * t, 10 + dy * t
    frame = world[y : y + PH, x : x + PW][..., None].repeat(3, axis=2) + rng.normal(0, 2, (PH, PW, 3))
    x0, y0 = 200 - 5 * t, 100
    frame[y0 : y0 + 32, x0 : x0 + 32] = (30, 220, 240)
    return np.clip(frame, 0, 255).astype(np.uint8), (x0, y0, x0 + 32, y0 + 32)


def test_compensated_motion_marks_the_object_not_the_panning_scene() -> None:
    rng = np.random.default_rng(0)
    camera, plain = CameraMotionRoi(), MotionRoi()
    rows, cols = PH // 16, PW // 16
    for t in range(25):
        frame, box = panning(t, rng)
        m, p = camera(frame), plain(frame)
        if t == 0:
            assert m.all() and camera.transform is None  # nothing to compare with yet
            continue
        # The camera's motion is found: the content moves 4 left and 2 up per frame.
        assert camera.transform is not None
        np.testing.assert_allclose(camera.transform[:, 2], (-4, -2), atol=0.5)
        np.testing.assert_allclose(camera.transform[:, :2], np.eye(2), atol=0.02)
        if t < 10:
            continue
        assert m.shape == p.shape == (rows, cols)
        square = boxes_to_blocks([box], PW, PH, 16)
        assert (m & square).sum() == square.sum()  # every block of the walking square
        # What comes into view at the right and bottom edges is sent (it may hold new objects) ...
        assert m[:, -1].all() and m[-1].all()
        # ... and the rest of the sliding scene is not: away from the square and those edges, nothing.
        near = cv2.dilate(square.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        assert not (m & ~near)[: rows - 2, : cols - 2].any()
        assert m.mean() < 0.4
        assert p.mean() > 0.8  # MOG2 in place sees the whole scene move


def test_compensated_motion_on_a_fixed_camera_follows_the_object() -> None:
    rng = np.random.default_rng(3)
    camera = CameraMotionRoi(scale=0.5)
    for t in range(20):
        frame, box = scene(t, rng)
        m = camera(frame)
        if t >= 2:
            np.testing.assert_allclose(camera.transform, np.eye(2, 3), atol=0.1)
            assert (m & boxes_to_blocks([box], W, H, 16)).any() and not m[:2].any()


def test_compensated_motion_sends_the_whole_frame_first_on_refresh_and_on_a_cut() -> None:
    rng = np.random.default_rng(4)
    camera = CameraMotionRoi(refresh=6)
    full = [bool(camera(panning(t, rng)[0]).all()) for t in range(13)]
    assert full == [t % 6 == 0 for t in range(13)]
    # A cut to another scene: no motion fits the corners, so the whole frame is sent.
    other = np.clip(110 + 50 * (lambda n: n / n.std())(
        cv2.GaussianBlur(np.random.default_rng(9).normal(0, 1, (PH + 120, PW + 200)), (0, 0), 6)), 0, 255)
    assert camera(panning(13, rng, world=other)[0]).all()
    assert not camera(panning(14, rng, world=other)[0]).all()  # and it follows the new scene after
    # A flat frame has no corners to track: the camera is taken as still, nothing moved.
    flat = np.full((PH, PW, 3), 90, np.uint8)
    camera(flat)
    assert not camera(flat).any()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"margin": -1}, "margin"), ({"scale": 0}, "scale"), ({"threshold": 0}, "threshold"),
     ({"min_fraction": 0}, "min_fraction"), ({"corners": 10, "min_inliers": 11}, "min_inliers"),
     ({"block": 12}, "block")],
)
def test_compensated_motion_arguments_are_checked(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        CameraMotionRoi(**kwargs)


def test_compensated_motion_refuses_a_frame_it_cannot_read() -> None:
    with pytest.raises(ValueError, match="uint8 BGR or grey"):
        CameraMotionRoi()(np.zeros((PH, PW, 3), np.float32))


def test_feedback_uses_the_boxes_lag_frames_late() -> None:
    fb = FeedbackRoi(lag=2, margin=0, block=16)
    assert fb.mask(W, H).all()  # nothing back from the server yet
    fb.push([(0, 0, 16, 16, 0.9, 0)])  # about frame 0 (score and class columns are ignored)
    assert fb.mask(W, H).all()
    fb.push([(64, 64, 80, 80)])  # about frame 1
    m = fb.mask(W, H)  # frame 2 is coded with frame 0's boxes
    assert m.sum() == 1 and m[0, 0]
    fb.push(np.zeros((0, 6)))  # frame 2: nothing found
    m = fb.mask(W, H)
    assert m.sum() == 1 and m[4, 4]
    fb.push(None)  # frame 3: no answer
    assert not fb.mask(W, H).any()  # frame 2's empty answer
    fb.push([])
    assert fb.mask(W, H).all()  # frame 3's missing answer: the safe side


def test_feedback_from_a_segmenters_mask() -> None:
    fb = FeedbackRoi(lag=1, margin=0, block=16)
    person = np.zeros((H, W), bool)
    person[20:40, 70:75] = True  # a thin standing figure
    fb.push_mask(person)
    m = fb.mask(W, H)
    assert m.shape == (-(-H // 16), -(-W // 16))
    assert m[1:3, 4].all() and m.sum() == 2  # only the blocks the mask touches
    fb.push_mask(np.zeros((H // 4, W // 4), bool))  # a mask at the network's resolution
    assert not fb.mask(W, H).any()
    fb.push_mask(None)
    assert fb.mask(W, H).all()
    with pytest.raises(ValueError, match="2-D mask"):
        fb.push_mask(np.zeros((2, 3, 4), bool))


def test_mask_blocks_grow_by_the_margin_and_scale_to_the_frame() -> None:
    small = np.zeros((H // 4, W // 4), bool)
    small[8, 8] = True  # frame pixels 32..35 on both axes
    assert np.argwhere(mask_to_blocks(small, W, H, 16)).tolist() == [[2, 2]]
    grown = mask_to_blocks(small, W, H, 16, margin=10)
    assert grown[1:4, 1:4].all() and grown.sum() == 9


def test_feedback_margin_and_union() -> None:
    grown = boxes_to_blocks([(64, 64, 80, 80)], W, H, 16, margin=10)
    assert grown[3:6, 3:6].all() and grown.sum() == 9
    a = boxes_to_blocks([(0, 0, 8, 8)], W, H, 16)
    assert union(a, grown).sum() == 10
    with pytest.raises(ValueError, match="differ in shape"):
        union(a, boxes_to_blocks([(0, 0, 8, 8)], W, H, 8))
    with pytest.raises(ValueError, match="block must be 8 or 16"):
        FeedbackRoi(block=32)
    with pytest.raises(ValueError, match="lag must be >= 1"):
        FeedbackRoi(lag=0)


@pytest.mark.parametrize("bt601", [False, True], ids=["g-yuv", "bt601"])
def test_cv2_adapter_writes_the_pillow_roi_file(photo: Image.Image, make_strategy, tmp_path, bt601) -> None:
    """Both adapters, both colour routes: with BT.601 weights the cv2 adapter hands
    the ROI step RGB in its per-thread buffer, which is converted there in place."""
    strategy = make_strategy(subsampling="4:2:0", **({"weights": BT601} if bt601 else {}))
    rgb = np.asarray(photo.crop((0, 0, W, H)))
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    roi = boxes_to_blocks([(20, 20, 90, 70)], W, H, 16)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "GRACE", strategy=strategy, quality=70, roi=roi, background="dc")
    ok, data = gcv.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 70], strategy=strategy, roi=roi,
                            background="dc")
    assert ok and data.tobytes() == buf.getvalue()
    plain = gcv.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 70], strategy=strategy)[1]
    assert len(data) < len(plain)
    assert gcv.imwrite(tmp_path / "f.jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 70], strategy=strategy, roi=roi,
                       background="dc")
    assert (tmp_path / "f.jpg").read_bytes() == buf.getvalue()
    assert cv2.imdecode(data, cv2.IMREAD_COLOR).shape == (H, W, 3)  # cv2's own decoder reads it

"""ROI sources for camera streams (grace_opencv.roi) and roi= through the cv2 adapter."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

cv2 = pytest.importorskip("cv2")
import grace_opencv as gcv  # noqa: E402
from grace_opencv.roi import FeedbackRoi, MotionRoi, boxes_to_blocks, mask_to_blocks, union  # noqa: E402
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

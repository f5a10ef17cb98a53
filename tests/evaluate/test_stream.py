"""The stream benchmark: ordered play with ROI state, recall of (new) objects, block bootstrap."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

import pillow_grace  # noqa: E402
from pillow_grace.core.roi import Roi  # noqa: E402
from pillow_grace.evaluate.metrics import make_scorer  # noqa: E402
from pillow_grace.evaluate.smart import split_pipeline  # noqa: E402
from pillow_grace.evaluate.stream import (  # noqa: E402
    NEW_FRAMES,
    CleanFrames,
    Curve,
    StreamModel,
    block_bootstrap_counts,
    clean_references,
    lag1_correlation,
    measurable,
    play,
    segmentation_foreground,
    stream_metrics,
    summarize,
    track_ages,
)
from pillow_grace.zoo._base import FrozenPipeline  # noqa: E402
from pillow_grace.zoo.preprocess import PadToSquare, ResizeNormalize  # noqa: E402

S = 64  # frame side
BOX = (16, 16, 48, 48)


class TextureDetector(torch.nn.Module):
    """One anchor over BOX whose score is the texture (std) inside it: a flat
    or DC-only region scores 0, a textured one close to 1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x0, y0, x1, y1 = BOX
        score = (x[:, :, y0:y1, x0:x1].std(dim=(1, 2, 3)) * 4).clamp(0, 1)
        geo = torch.tensor([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], dtype=x.dtype)
        return torch.cat([geo.expand(x.shape[0], 4), score[:, None]], dim=1)[:, :, None]


def decode(output: torch.Tensor, conf: float, iou: float) -> list[np.ndarray]:
    out = []
    for row in output[:, :, 0].numpy():
        cx, cy, w, h, s = row
        out.append(np.array([[cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, s, 0]]) if s >= conf
                   else np.zeros((0, 6)))
    return out


def frames() -> list[Image.Image]:
    """Frames 0-2 grey with faint noise; from frame 3 a textured square appears in BOX."""
    rng = np.random.default_rng(0)
    out = []
    for t in range(10):
        a = rng.integers(110, 130, (S, S, 3)).astype(np.uint8)
        if t >= 3:
            a[16:48, 16:48] = rng.integers(0, 255, (32, 32, 3))
        out.append(Image.fromarray(a))
    return out


class Codec:
    def __init__(self, strategy, quality: int, background: str) -> None:
        self.strategy, self.quality, self.background = strategy, quality, background

    def encode(self, frame: Image.Image, roi: np.ndarray | None) -> bytes:
        buf = io.BytesIO()
        pillow_grace.encode(frame, buf, self.strategy, quality=self.quality,
                            roi=None if roi is None else Roi(roi), background=self.background)
        return buf.getvalue()


class Fixed:
    """A source whose map is fixed; records what the stream tells it."""

    def __init__(self, mask: np.ndarray) -> None:
        self.m, self.seen, self.foregrounds = mask, [], []

    def mask(self, t: int, frame: np.ndarray) -> np.ndarray:
        return self.m

    def observe(self, t: int, boxes: np.ndarray, foreground: np.ndarray | None = None) -> None:
        self.seen.append((t, len(boxes)))
        self.foregrounds.append(foreground)


@pytest.fixture(scope="module")
def model() -> StreamModel:
    return StreamModel(TextureDetector(), make_scorer("detection", decode=decode), decode)


def test_clean_objects_and_their_ages(model) -> None:
    clean = clean_references(frames(), model)
    assert [len(o) for o in clean.objects] == [0, 0, 0] + [1] * 7
    assert [int(a[0]) for a in clean.ages[3:]] == list(range(7))


def test_track_ages() -> None:
    prev = np.array([[0, 0, 10, 10, 0.9, 1], [50, 50, 60, 60, 0.9, 1]], float)
    now = np.array([[1, 1, 11, 11, 0.9, 1], [50, 50, 60, 60, 0.9, 2], [80, 80, 90, 90, 0.9, 1]], float)
    assert track_ages(prev, np.array([4, 7]), now).tolist() == [5, 0, 0]  # a class change is a new object


def test_play_measures_recall_where_the_roi_is(model, make_strategy) -> None:
    fr = frames()
    arrays = [np.asarray(f) for f in fr]
    clean = clean_references(fr, model)
    strategy = make_strategy(subsampling="4:4:4")
    inside = np.zeros((S // 16, S // 16), bool)
    inside[1:3, 1:3] = True
    sources = {"hit": Fixed(inside), "miss": Fixed(~inside)}
    def curve(name: str) -> Curve:
        source = (lambda: sources[name]) if name in sources else None
        return Curve(name, lambda q: Codec(strategy, q, "dc"), source)

    plays = {name: play(curve(name), 80, fr, arrays, model, clean) for name in ("plain", "hit", "miss")}
    assert plays["hit"].hits.sum() == plays["hit"].objects.sum() == 7
    assert plays["hit"].new_hits.sum() == plays["hit"].new_objects.sum() == 7 and NEW_FRAMES > 7
    assert plays["miss"].hits.sum() == 0  # the object's blocks kept only their DC: no texture left
    assert plays["hit"].bits.sum() < plays["plain"].bits.sum()
    assert plays["hit"].roi_share.mean() == pytest.approx(inside.mean())
    # The source saw the detections on each decoded frame, in order.
    assert [t for t, _ in sources["hit"].seen] == list(range(10))
    assert [k for _, k in sources["miss"].seen] == [0] * 10


class Shrink:
    """A device that halves the frame before coding it (resize on the device)."""

    def __init__(self, quality: int) -> None:
        self.quality = quality

    def encode(self, frame: Image.Image, roi: np.ndarray | None) -> bytes:
        buf = io.BytesIO()
        frame.resize((S // 2, S // 2)).save(buf, "JPEG", quality=self.quality)
        return buf.getvalue()


class Upscale(torch.nn.Module):
    """The server part of a split model: back to the frame size, then the detector."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return TextureDetector()(torch.nn.functional.interpolate(x, size=(S, S), mode="nearest"))


def test_a_curves_server_module_judges_its_frames(model) -> None:
    fr = frames()
    arrays = [np.asarray(f) for f in fr]
    clean = clean_references(fr, model)
    served = play(Curve("smart", Shrink, server=Upscale()), 95, fr, arrays, model, clean)
    # The whole model on a half-size frame sees its box outside the image: nothing found.
    whole = play(Curve("no-server", Shrink), 95, fr, arrays, model, clean)
    assert served.hits.sum() == served.objects.sum() == 7
    assert whole.hits.sum() == 0
    assert served.bits.sum() == whole.bits.sum()


class BrightSegmenter(torch.nn.Module):
    """Two classes per pixel: foreground where the frame is brighter than mid-grey."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fg = (x.mean(dim=1, keepdim=True) - 0.5) * 10
        return torch.cat([torch.zeros_like(fg), fg], dim=1)


def test_a_segmenter_feeds_its_mask_back_to_the_source(make_strategy) -> None:
    fr = frames()
    arrays = [np.asarray(f) for f in fr]
    seg = StreamModel(BrightSegmenter(), make_scorer("segmentation"), foreground=segmentation_foreground)
    clean = clean_references(fr, seg)
    source = Fixed(np.ones((S // 16, S // 16), bool))
    strategy = make_strategy(subsampling="4:4:4")
    play(Curve("seg", lambda q: Codec(strategy, q, "dc"), lambda: source), 90, fr, arrays, seg, clean)
    masks = source.foregrounds
    assert len(masks) == 10 and all(m is not None and m.shape == (S, S) and m.dtype == bool for m in masks)
    expected = np.asarray(fr[5], np.float32).mean(axis=2) > 127.5
    assert (masks[5] == expected).mean() > 0.95  # the decoded frame's foreground, not an empty map
    with pytest.raises(ValueError, match="C >= 2"):
        segmentation_foreground(torch.zeros(1, 1, 4, 4))


def test_summarize_bd_rates_against_the_reference(model, make_strategy) -> None:
    fr = frames()
    arrays = [np.asarray(f) for f in fr]
    clean = clean_references(fr, model)
    strategy = make_strategy(subsampling="4:4:4")
    curves = [Curve("ref", lambda q: Codec(strategy, q, "dc")),
              Curve("same", lambda q: Codec(strategy, q, "dc"))]
    plays = [play(c, q, fr, arrays, model, clean) for c in curves for q in (20, 60, 95)]
    metrics = stream_metrics(model.scorer, detector=True)
    assert [m.name for m in metrics] == ["map50", "score_drift", "recall", "new_recall"]
    s = summarize(plays, metrics, S * S, "ref", block=3, resamples=30, against=("same",))
    assert s.points["ref"]["quality"] == [20, 60, 95]
    assert s.points["ref"]["bpp"][0] < s.points["ref"]["bpp"][-1]
    point, lo, _hi = s.bd["same"]["score_drift"]
    assert point == pytest.approx(0.0, abs=1e-9) and lo == pytest.approx(0.0, abs=1e-9)
    # Against a further reference: the same table, keyed by that reference.
    assert set(s.bd_against) == {"same"} and set(s.bd_against["same"]) == {"ref", "same"}
    assert s.bd_against["same"]["ref"]["score_drift"] == pytest.approx(s.bd["same"]["score_drift"], abs=1e-9)
    with pytest.raises(ValueError, match=r"'grace'.*not played"):
        summarize(plays, metrics, S * S, "ref", block=3, resamples=30, against=("grace",))


def test_block_bootstrap_draws_runs_of_frames() -> None:
    counts = block_bootstrap_counts(20, 5, 50, seed=1)
    assert counts.shape == (50, 20) and (counts.sum(axis=1) == 20).all()
    assert (block_bootstrap_counts(7, 7, 3) == 1).all()  # one run of the whole clip
    # Runs: a resample's frames come in consecutive stretches of 5.
    row = counts[0]
    assert all(row[i : i + 5].min() >= 1 for i in np.flatnonzero(np.diff(np.r_[0, row > 0]) == 1)
               if i + 5 <= 20)


def test_lag1_correlation() -> None:
    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.normal(size=500))
    assert lag1_correlation(walk) > 0.9
    assert lag1_correlation(np.tile([1.0, -1.0], 50)) == pytest.approx(-1.0)
    assert np.isnan(lag1_correlation(np.ones(10)))


class FixedBox(torch.nn.Module):
    """One detection at input pixels (8, 12)-(24, 20), whatever the input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        row = torch.tensor([16.0, 16.0, 16.0, 8.0, 0.9])
        return row.expand(x.shape[0], 5)[:, :, None]


def test_boxes_land_on_the_frame_through_a_centred_letterbox() -> None:
    # BlazeFace's geometry in small: a 128x64 frame padded to 128x128 (32 rows on top), seen at 32x32.
    pre = torch.nn.Sequential(PadToSquare(centre=True), ResizeNormalize((32, 32)))
    module = FrozenPipeline(pre, FixedBox())
    scale, offset = split_pipeline(module).input_to_capture((128, 64))
    m = StreamModel(module, make_scorer("detection", decode=decode), decode, scale, offset)
    frame = Image.new("RGB", (128, 64))
    assert m.boxes(m.run(frame), 0.5)[:, :4].tolist() == [[32.0, 16.0, 96.0, 48.0]]
    # A stretch-only scale (what the YOLO run used) would put it 32 rows too low and half as tall.
    stretched = StreamModel(module, m.scorer, decode, (4.0, 2.0))
    assert stretched.boxes(m.run(frame), 0.5)[:, :4].tolist() == [[32.0, 24.0, 96.0, 40.0]]


def test_measurable_leaves_out_recalls_with_nothing_to_recall(model) -> None:
    metrics = stream_metrics(model.scorer, detector=True)
    box = np.array([[0, 0, 8, 8, 0.9, 0]], float)
    old = CleanFrames([None] * 2, [box, box], [np.array([NEW_FRAMES]), np.array([NEW_FRAMES + 1])])
    assert [m.name for m in measurable(metrics, old)] == ["map50", "score_drift", "recall"]
    fresh = CleanFrames([None] * 2, [np.zeros((0, 6)), box], [np.zeros(0, np.int64), np.array([0])])
    assert [m.name for m in measurable(metrics, fresh)] == ["map50", "score_drift", "recall", "new_recall"]
    empty = CleanFrames([None], [np.zeros((0, 6))], [np.zeros(0, np.int64)])
    assert [m.name for m in measurable(metrics, empty)] == ["map50", "score_drift"]


class Recorder:
    """A server-side receiver that records the files it is given, in order."""

    def __init__(self) -> None:
        self.files: list[bytes] = []

    def decode(self, data: bytes) -> Image.Image:
        self.files.append(bytes(data))
        return Image.new("RGB", Image.open(io.BytesIO(data)).size)  # what the model is shown: black


def test_a_curves_receiver_decodes_every_frame_in_order(model, make_strategy) -> None:
    fr = frames()
    arrays = [np.asarray(f) for f in fr]
    clean = clean_references(fr, model)
    strategy = make_strategy()
    made: list[Recorder] = []

    def receiver() -> Recorder:
        made.append(Recorder())
        return made[-1]

    curve = Curve("rec", lambda q: Codec(strategy, q, "dc"), receiver=receiver)
    first = play(curve, 90, fr, arrays, model, clean)
    play(curve, 90, fr, arrays, model, clean)
    assert len(made) == 2  # fresh state per play
    assert made[0].files == [Codec(strategy, 90, "dc").encode(f, None) for f in fr]
    assert first.bits.tolist() == [8 * len(d) for d in made[0].files]
    # The model judged the receiver's frames (black: nothing found), not the files decoded alone.
    plain = play(Curve("plain", lambda q: Codec(strategy, q, "dc")), 90, fr, arrays, model, clean)
    assert plain.hits.sum() > 0 and first.hits.sum() == 0

"""grace stream: a folder or video encoded frame by frame with motion ROI, against cv2's JPEG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

cv2 = pytest.importorskip("cv2")
from grace_opencv.stream import encode_stream  # noqa: E402
from pillow_grace.cli import main  # noqa: E402

W, H = 160, 128


def write_frames(folder: Path, n: int = 12) -> Path:
    """A fixed textured background, sensor noise, and a square walking right."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:H, 0:W]
    bg = 110 + 60 * np.sin(x / 5.0) * np.cos(y / 7.0)
    folder.mkdir()
    for t in range(n):
        a = np.clip(bg[..., None] + rng.normal(0, 2, (H, W, 3)), 0, 255).astype(np.uint8)
        a[50:80, 10 + 6 * t : 40 + 6 * t] = (250, 40, 40)
        Image.fromarray(a).save(folder / f"f{t:03d}.png")
    return folder


def test_motion_roi_stream_is_smaller_than_plain_grace(tmp_path, make_strategy) -> None:
    frames = write_frames(tmp_path / "frames")
    strategy = make_strategy(subsampling="4:2:0")
    motion = encode_stream(frames, strategy, quality=80, roi="motion", refresh=100, out=tmp_path / "out")
    plain = encode_stream(frames, strategy, quality=80, roi="none")
    assert len(motion) == len(plain) == 12
    assert motion[0].grace_bytes == plain[0].grace_bytes  # the first frame is sent whole
    assert sum(r.grace_bytes for r in motion[2:]) < 0.8 * sum(r.grace_bytes for r in plain[2:])
    assert all(r.roi_share < 0.6 for r in motion[2:]) and all(r.roi_share == 1 for r in plain)
    written = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in written[:2]] == ["frame-000000.jpg", "frame-000001.jpg"]
    assert cv2.imread(str(written[5])).shape == (H, W, 3)


def test_grace_stream_command_reports_the_saving(tmp_path, make_strategy, capsys) -> None:
    frames = write_frames(tmp_path / "frames", n=6)
    strategy_file = tmp_path / "s.json"
    strategy_file.write_text(make_strategy(subsampling="4:2:0").to_json())
    assert main(["stream", str(frames), "--strategy", str(strategy_file), "--max-frames", "4"]) == 0
    out = capsys.readouterr().out
    assert "4 frames at quality 75, ROI motion" in out
    assert "bytes per frame: GRACE" in out and "saving" in out


def test_grace_stream_reads_a_video(tmp_path, make_strategy, capsys) -> None:
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (W, H))
    if not writer.isOpened():
        pytest.skip("no MJPG video writer in this OpenCV build")
    for f in sorted(write_frames(tmp_path / "frames", n=5).iterdir()):
        writer.write(cv2.imread(str(f)))
    writer.release()
    strategy_file = tmp_path / "s.json"
    strategy_file.write_text(make_strategy().to_json())
    assert main(["stream", str(video), "--strategy", str(strategy_file), "--roi", "none"]) == 0
    assert "5 frames at quality 75, ROI none" in capsys.readouterr().out


def test_grace_stream_refuses_a_missing_input(tmp_path, capsys) -> None:
    assert main(["stream", str(tmp_path / "nope.avi"), "--strategy", "x"]) == 1
    assert "no video file or folder of frames" in capsys.readouterr().err


def test_camera_motion_stream_on_a_panning_camera(tmp_path, make_strategy, capsys) -> None:
    """A camera that pans: MOG2 motion sees the whole frame move, the compensated
    source only the object and the strip that comes into view."""
    rng = np.random.default_rng(1)
    wide = cv2.GaussianBlur(rng.integers(0, 256, (H, W + 80, 3), dtype=np.uint8), (0, 0), 2.0)
    folder = tmp_path / "pan"
    folder.mkdir()
    for t in range(10):
        a = np.ascontiguousarray(wide[:, 4 * t : 4 * t + W])
        a[50:80, 10 + 8 * t : 40 + 8 * t] = (250, 40, 40)
        Image.fromarray(a).save(folder / f"f{t:03d}.png")
    strategy = make_strategy(subsampling="4:2:0")
    fixed = encode_stream(folder, strategy, quality=80, roi="motion", refresh=100)
    moving = encode_stream(folder, strategy, quality=80, roi="camera-motion", refresh=100)
    assert np.mean([r.roi_share for r in moving[2:]]) < 0.6 < np.mean([r.roi_share for r in fixed[2:]])
    strategy_file = tmp_path / "s.json"
    strategy_file.write_text(strategy.to_json())
    assert main(["stream", str(folder), "--strategy", str(strategy_file), "--roi", "camera-motion"]) == 0
    assert "10 frames at quality 75, ROI camera-motion" in capsys.readouterr().out


def test_the_command_offers_every_roi_source() -> None:
    """The CLI lists the sources without importing OpenCV; they are the adapter's."""
    from grace_opencv.stream import ROI_SOURCES
    from pillow_grace.cli import build_parser

    stream = build_parser()._subparsers._group_actions[0].choices["stream"]  # type: ignore[union-attr]
    roi = next(a for a in stream._actions if a.dest == "roi")
    assert tuple(roi.choices) == ROI_SOURCES


def test_a_mapped_stream_is_completed_by_the_receiver(tmp_path, make_strategy) -> None:
    """Device and server end to end: motion ROI with the block map, then BackgroundFill
    brings the coarsened still background back closer to the frames than the files alone."""
    from pillow_grace import BackgroundFill
    from pillow_grace.core import roimap

    frames = write_frames(tmp_path / "frames", n=8)
    out = tmp_path / "out"
    encode_stream(frames, make_strategy(), quality=80, roi="motion", background="dc", roi_map=True,
                  refresh=100, out=out)
    files = sorted(out.iterdir())
    truth = [np.asarray(Image.open(p), np.float64) for p in sorted(frames.iterdir())]
    fill = BackgroundFill()
    sent_err, filled_err = [], []
    for t, path in enumerate(files):
        data = path.read_bytes()
        with Image.open(path) as im:
            mapped = roimap.find(im.applist) is not None
            as_sent = np.asarray(im.convert("RGB"), np.float64)
        assert mapped == (t > 0)  # the first frame is sent whole
        filled = np.asarray(fill.decode(data), np.float64)
        sent_err.append(np.abs(as_sent - truth[t]).mean())
        filled_err.append(np.abs(filled - truth[t]).mean())
    assert filled_err[0] == sent_err[0]
    assert sum(filled_err[2:]) < 0.7 * sum(sent_err[2:])

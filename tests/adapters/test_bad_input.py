"""Bad input: every malformed file gives a clear exception, never a crash, a hang or
a silently wrong image; concurrent use gives the same bytes as serial use."""

from __future__ import annotations

import io
import json
import struct
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageFile

import pillow_grace
from pillow_grace import GraceError, GraceFileError, Strategy
from pillow_grace.core.metadata import IDENTIFIER, MAX_PAYLOAD
from tests.support import jpegmarkers as jm

#: What a damaged file may raise. DecompressionBombError is Pillow's (an Exception only).
ALLOWED = (GraceError, OSError, SyntaxError, ValueError, Image.DecompressionBombError)
#: Long decimal expansions, so that a flipped digit anywhere breaks the sum.
WEIGHTS = (0.2126, 0.7152, 0.0722)


@pytest.fixture(scope="module")
def fit_like(make_strategy: Any) -> Strategy:
    return make_strategy("fuzz", weights=WEIGHTS)


@pytest.fixture(scope="module")
def grace_file(photo: Image.Image, fit_like: Strategy) -> bytes:
    buf = io.BytesIO()
    photo.crop((0, 0, 64, 48)).save(buf, "GRACE", strategy=fit_like, quality=60, optimize=False,
                                    comment=b"fuzz me")
    return buf.getvalue()


def outcome(data: bytes) -> str:
    """Open and load; return what happened, failing the test on anything not allowed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                if im.format == "GRACE":
                    # Loaded as GRACE: the colours must come from the true weights.
                    assert im.info["grace"]["weights"] == pytest.approx(WEIGHTS, abs=1e-6)
                return f"loaded {im.format}"
    except ALLOWED as e:
        return type(e).__name__


def test_truncation_at_many_offsets(grace_file: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1 << 20)
    head = jm.header_end(grace_file)
    step = max(1, (len(grace_file) - head) // 60)
    offsets = sorted({*range(0, head + 1), *range(head, len(grace_file), step)})
    seen: dict[str, int] = {}
    start = time.perf_counter()
    for n in offsets:
        result = outcome(grace_file[:n])
        seen[result] = seen.get(result, 0) + 1
    assert "loaded GRACE" not in seen and "loaded JPEG" not in seen, seen  # all truncated: all errors
    assert outcome(grace_file) == "loaded GRACE"
    assert time.perf_counter() - start < 20


def test_random_byte_flips_in_headers(grace_file: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1 << 20)
    rng = np.random.default_rng(2024)
    head = jm.header_end(grace_file)
    app11 = jm.find(grace_file, 0xFFEB)[0]
    seen: dict[str, int] = {}
    for trial in range(600):
        data = bytearray(grace_file)
        # Half the trials aim at the APP11 segment, the rest anywhere in the headers.
        lo, hi = (app11.offset, app11.offset + 4 + len(app11.payload)) if trial % 2 else (2, head)
        for _ in range(int(rng.integers(1, 4))):
            data[int(rng.integers(lo, hi))] ^= int(rng.integers(1, 256))
        result = outcome(bytes(data))
        seen[result] = seen.get(result, 0) + 1
    assert seen.get("GraceFileError", 0) > 250, seen  # a damaged APP11 is reported, not ignored
    assert "loaded JPEG" not in seen, seen  # never a silent fall-back to a plain decode


def app11_variant(grace_file: bytes, payload: bytes) -> bytes:
    return jm.replace_segment(grace_file, jm.find(grace_file, 0xFFEB)[0], payload)


def body(grace_file: bytes) -> dict[str, Any]:
    return json.loads(jm.find(grace_file, 0xFFEB)[0].payload[len(IDENTIFIER) + 2 :])


BAD_SEGMENTS = {
    "negative weight": {"weights": [-0.2, 0.7, 0.5]},
    "weight below minimum": {"weights": [0.01, 0.49, 0.5]},
    "weights not summing to 1": {"weights": [0.3, 0.3, 0.3]},
    "two weights": {"weights": [0.5, 0.5]},
    "weight as string": {"weights": ["0.3", 0.4, 0.3]},
    "no weights": {"weights": None},
    "huge integer weight": {"weights": [10**400, 0.4, 0.3]},
    "no hash": {"hash": None},
    "bad hash": {"hash": "md5:1234"},
    "empty name": {"strategy": ""},
    "long name": {"strategy": "n" * 200},
}


@pytest.mark.parametrize("change", list(BAD_SEGMENTS.values()), ids=list(BAD_SEGMENTS))
def test_impossible_metadata_is_a_grace_file_error(grace_file: bytes, change: dict[str, Any]) -> None:
    obj = {**body(grace_file), **change}
    data = app11_variant(grace_file, IDENTIFIER + b"\x01\x00" + json.dumps(obj).encode())
    with pytest.raises(GraceFileError, match="GRACE metadata segment"):
        Image.open(io.BytesIO(data))


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b'{"weights": [NaN, 0.5, 0.5], "strategy": "x", "hash": "sha256:' + b"0" * 64 + b'"}', "NaN"),
        (b'{"weights": [Infinity, 0.5, 0.5]}', "Infinity"),
        (b"this is not JSON", "corrupt"),
        (b"\xff\xfe\xfd", "corrupt"),
        (b"[0.3, 0.4, 0.3]", "not a JSON object"),
        (b"[" * 2000 + b"]" * 2000, "corrupt"),
        (b'{"strategy": "a", "strategy": "b"}', "twice"),
        (b"", "corrupt"),
    ],
)
def test_corrupt_json_is_a_grace_file_error(grace_file: bytes, payload: bytes, match: str) -> None:
    data = app11_variant(grace_file, IDENTIFIER + b"\x01\x00" + payload)
    with pytest.raises(GraceFileError, match=match):
        Image.open(io.BytesIO(data))


def test_segment_framing_errors(grace_file: bytes) -> None:
    good = body(grace_file)
    cases = {
        "major version 2": (IDENTIFIER + b"\x02\x00" + json.dumps(good).encode(), "2.0 is not supported"),
        "major version 0": (IDENTIFIER + b"\x00\x09" + json.dumps(good).encode(), "version 0.9"),
        "no version": (IDENTIFIER, "truncated"),
        "corrupt identifier": (b"GRACE\x01\x01\x00" + json.dumps(good).encode(), "identifier"),
        "too long": (IDENTIFIER + b"\x01\x00" + json.dumps({**good, "pad": "x" * MAX_PAYLOAD}).encode(),
                     "over the 4096"),
    }
    for name, (payload, match) in cases.items():
        with pytest.raises(GraceFileError, match=match):
            Image.open(io.BytesIO(app11_variant(grace_file, payload)))
        assert name
    newer = IDENTIFIER + b"\x01\x07" + json.dumps({**good, "future": [1, 2]}).encode()
    with Image.open(io.BytesIO(app11_variant(grace_file, newer))) as im:
        assert im.format == "GRACE" and im.info["grace"]["version"] == "1.7"


def test_grace_segment_in_the_wrong_place_or_twice(grace_file: bytes) -> None:
    seg = jm.find(grace_file, 0xFFEB)[0]
    raw = grace_file[seg.offset : seg.offset + 4 + len(seg.payload)]
    as_app10 = grace_file[: seg.offset] + b"\xff\xea" + raw[2:] + grace_file[seg.offset + len(raw) :]
    with pytest.raises(GraceFileError, match="APP10"):
        Image.open(io.BytesIO(as_app10))
    twice = grace_file[: seg.offset] + raw + raw + grace_file[seg.offset + len(raw) :]
    with pytest.raises(GraceFileError, match="two GRACE metadata segments"):
        Image.open(io.BytesIO(twice))
    # A comment that happens to start with "GRACE" is not metadata.
    with Image.open(io.BytesIO(grace_file)) as im:
        assert im.format == "GRACE"


def with_size(data: bytes, width: int, height: int) -> bytes:
    sof = next(s for s in jm.segments(data) if s.marker == 0xFFC0)
    p = bytearray(sof.payload)
    p[1:5] = struct.pack(">HH", height, width)
    return jm.replace_segment(data, sof, bytes(p))


@pytest.mark.parametrize("size", [(0, 48), (64, 0), (0, 0)])
def test_zero_size_file_is_refused(grace_file: bytes, size: tuple[int, int]) -> None:
    with pytest.raises((SyntaxError, OSError)):
        Image.open(io.BytesIO(with_size(grace_file, *size))).load()


def test_decompression_bomb(grace_file: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    huge = with_size(grace_file, 65000, 65000)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(huge))
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(huge), formats=["JPEG"])  # the same as Pillow's own
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 64 * 48 - 1)  # between the limit and twice it
    with pytest.warns(Image.DecompressionBombWarning):
        with Image.open(io.BytesIO(grace_file)) as im:
            assert im.format == "GRACE"
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 64 * 48 // 2 - 1)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(grace_file))


def test_not_a_jpeg_at_all() -> None:
    for data in (b"", b"\xff\xd8", b"\xff\xd8\xff", b"\xff\xd8\xff\xeb\x00", b"GRACE\x00" * 10):
        with pytest.raises(ALLOWED):
            Image.open(io.BytesIO(data)).load()


def test_noise_with_fine_tables_fits_the_output_buffer(make_strategy: Any) -> None:
    """Multi-pass encodes keep the whole file in Pillow's buffer (about 2 bytes/pixel);
    binary noise with all-ones tables needs more than twice that."""
    rng = np.random.default_rng(1)
    noise = Image.fromarray((rng.integers(0, 2, (96, 128, 3)) * 255).astype(np.uint8))
    s = make_strategy("fine", weights=(0.475, 0.05, 0.475), tables="ones")
    for options in ({}, {"progressive": True}, {"subsampling": "4:2:0"}):
        buf = io.BytesIO()
        noise.save(buf, "GRACE", strategy=s, **options)
        assert len(buf.getvalue()) > 2 * 128 * 96 or options
        with Image.open(io.BytesIO(buf.getvalue())) as im:
            im.load()
    buf = io.BytesIO()
    noise.convert("L").save(buf, "GRACE", strategy=s)
    assert Image.MAX_IMAGE_PIXELS and ImageFile.MAXBLOCK == 65536  # restored


# -- threads ------------------------------------------------------------------------------
def test_concurrent_encodes_equal_serial_ones(
    photos: list[Image.Image], make_strategy: Any, isolated_registry: Path
) -> None:
    a = make_strategy("thread-a", weights=(0.3, 0.5, 0.2))
    b = make_strategy("thread-b", weights=(0.05, 0.05, 0.9), subsampling="4:2:0")
    b.save(isolated_registry / "thread-b.json")
    c = make_strategy("thread-c", weights=(0.25, 0.5, 0.25), tables="ones", perception=None)
    big = photos[0].resize((1024, 768))  # over the size where colour conversion runs in strips
    images = [big, photos[1].crop((0, 0, 200, 150)), photos[-1].resize((97, 61)), photos[0].convert("L")]
    for im in images:
        im.load()
    jobs = []
    for i in range(len(images)):
        jobs += [
            (i, a, {}), (i, a, {"quality": 30}), (i, a, {"quality": 85, "progressive": True}),
            (i, "thread-b", {}), (i, "thread-b", {"quality": 70}), (i, c, {"optimize": False}),
        ]

    def run(job: tuple[int, Any, dict[str, Any]], via_save: bool) -> bytes:
        i, strategy, options = job
        buf = io.BytesIO()
        if via_save:  # Image.save keeps options on the image: one Image object per thread
            images[i].copy().save(buf, "GRACE", strategy=strategy, **options)
        else:  # pillow_grace.encode may share the (loaded) image
            pillow_grace.encode(images[i], buf, strategy, **options)
        return buf.getvalue()

    serial = [run(job, via_save=False) for job in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        shared = list(pool.map(lambda j: run(j, via_save=False), jobs * 2))
        saved = list(pool.map(lambda j: run(j, via_save=True), jobs))
    assert shared == serial * 2
    assert saved == serial

    def decode(data: bytes) -> bytes:
        with Image.open(io.BytesIO(data)) as im:
            return im.tobytes()

    decoded = [decode(d) for d in serial]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(decode, serial)) == decoded

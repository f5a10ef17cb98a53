"""Regression tests for the reproduced codec defects (one test per defect).

Each builds its tiny input itself and goes through the public API."""

from __future__ import annotations

import io
import json
import os
import struct
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import pillow_grace
from pillow_grace import EncodeOptionError, Strategy, StrategyError, UnsupportedModeError, cli
from tests.support import jpegmarkers as jm


def tiny_rgb(w: int = 24, h: int = 16) -> Image.Image:
    rng = np.random.default_rng(7)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB")


@pytest.mark.parametrize(
    "comment",
    [b'{"src":"cam","hash":"sha256:9f86d0"}', b'{"weights":["a"]}', b'{"strategy":"mine","weights":[1]}'],
)
@pytest.mark.parametrize("where", ["comment", "xmp"])
def test_json_in_comment_or_xmp_does_not_break_plain_jpegs(comment: bytes, where: str) -> None:
    """Defect 2: the damaged-segment heuristic fired on ordinary JSON."""
    out = io.BytesIO()
    tiny_rgb().save(out, "JPEG", **{where: comment})
    with Image.open(io.BytesIO(out.getvalue())) as im:
        assert im.format == "JPEG"
        im.load()


def test_rgba_palette_with_transparency_is_refused(strategy: Strategy) -> None:
    """Defect 3: P with an RGBA palette (no info['transparency']) lost its alpha."""
    rgba = tiny_rgb().convert("RGBA")
    rgba.putalpha(Image.new("L", rgba.size, 0))
    quantized = rgba.quantize()
    assert quantized.mode == "P" and "transparency" not in quantized.info
    with pytest.raises(UnsupportedModeError, match="transparent"):
        quantized.save(io.BytesIO(), "GRACE", strategy=strategy)
    # an opaque RGBA palette is written
    opaque = tiny_rgb().convert("RGBA").quantize()
    opaque.save(io.BytesIO(), "GRACE", strategy=strategy)


def with_frame_size(data: bytes, w: int, h: int) -> bytes:
    (sof,) = jm.find(data, 0xFFC0) or jm.find(data, 0xFFC2)
    payload = bytearray(sof.payload)
    payload[1:5] = struct.pack(">HH", h, w)
    return jm.replace_segment(data, sof, bytes(payload))


def test_cli_reports_decompression_bombs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], strategy: Strategy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defect 4: a traceback instead of an error message."""
    out = io.BytesIO()
    tiny_rgb().save(out, "JPEG")
    bomb = tmp_path / "bomb.jpg"
    bomb.write_bytes(with_frame_size(out.getvalue(), 65000, 65000))
    assert cli.main(["decode", str(bomb), str(tmp_path / "x.png")]) == cli.EXIT_ERROR
    assert "MAX_IMAGE_PIXELS" in capsys.readouterr().err
    png = tmp_path / "big.png"
    tiny_rgb(100, 100).save(png)
    strategy.save(tmp_path / "s.json")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    args = ["encode", str(png), str(tmp_path / "y.jpg"), "--strategy", str(tmp_path / "s.json")]
    assert cli.main(args) == cli.EXIT_ERROR
    assert "MAX_IMAGE_PIXELS" in capsys.readouterr().err


@pytest.mark.parametrize("size", [(65501, 8), (8, 65535)])
def test_sizes_over_libjpegs_limit_are_refused_up_front(
    tmp_path: Path, strategy: Strategy, size: tuple[int, int]
) -> None:
    """Defect 6: 65501..65535 passed the check; encode(path) left a 0-byte file."""
    target = tmp_path / "out.jpg"
    with pytest.raises(EncodeOptionError, match="65500"):
        pillow_grace.encode(Image.new("L", size), target, strategy)
    assert not target.exists()


def test_encode_to_a_path_never_truncates_an_existing_file(tmp_path: Path, strategy: Strategy) -> None:
    """encode(path) writes a temporary file and renames it: a failure leaves the old file."""
    target = tmp_path / "out.jpg"
    target.write_bytes(b"previous")
    with pytest.raises(EncodeOptionError):  # found only once the output is being written
        pillow_grace.encode(Image.new("L", (65501, 8)), target, strategy)
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jpg"]
    pillow_grace.encode(tiny_rgb(), target, strategy)
    assert Image.open(target).format == "GRACE"


def test_check_encode_validates_before_the_file_is_opened(tmp_path: Path, strategy: Strategy) -> None:
    """Image.save truncates before any plugin runs; check_encode is the up-front check."""
    with pytest.raises(EncodeOptionError, match="qualty"):
        pillow_grace.check_encode(tiny_rgb(), strategy, qualty=90)
    with pytest.raises(UnsupportedModeError):
        pillow_grace.check_encode(Image.new("CMYK", (8, 8)), strategy)
    pillow_grace.check_encode(tiny_rgb(), strategy, quality=80)


@pytest.mark.parametrize("field", ["name", "version"])
def test_trailing_newline_is_not_a_valid_name_or_version(make_strategy: Any, field: str) -> None:
    """Defect 7: ``re.match`` with ``$`` accepted 'abc\\n'."""
    if field == "name":
        with pytest.raises(StrategyError, match="name"):
            make_strategy(name="abc\n")
    doc = make_strategy().to_dict()
    doc[field] = doc[field] + "\n"
    with pytest.raises(StrategyError) as e:
        Strategy.from_json(json.dumps(doc))
    assert e.value.field == field


def test_schema_refuses_a_trailing_newline(make_strategy: Any) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from pillow_grace.schema import strategy_schema as load_schema

    doc = make_strategy().to_dict()
    doc.pop("content_hash", None)
    jsonschema.validate(doc, load_schema())
    for field in ("name", "version"):
        bad = dict(doc, **{field: doc[field] + "\n"})
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, load_schema())


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_on_the_strategy_path_neither_hangs_nor_lists(isolated_registry: Path) -> None:
    """Defect 8: load_strategy blocked forever opening a FIFO."""
    fifo = isolated_registry / "pipe.json"
    os.mkfifo(fifo)
    assert "pipe" not in pillow_grace.available_strategies()
    result: list[BaseException | None] = []

    def load() -> None:
        try:
            pillow_grace.load_strategy(fifo)
        except BaseException as e:
            result.append(e)
        else:
            result.append(None)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(5)
    if worker.is_alive():  # unblock the reader so the thread can end
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("load_strategy blocked on a FIFO")
    assert isinstance(result[0], StrategyError)
    assert "regular file" in str(result[0])


@pytest.mark.parametrize("exif", [b"GRACEFUL notes", b"GRACE\x00\x01\x00{}"])
def test_writer_refuses_exif_its_reader_would_reject(strategy: Strategy, exif: bytes) -> None:
    """Defect 9: saved fine, reopening raised GraceFileError."""
    with pytest.raises(EncodeOptionError, match="exif"):
        tiny_rgb().save(io.BytesIO(), "GRACE", strategy=strategy, exif=exif)


def test_comment_that_looks_like_a_grace_segment_is_refused(strategy: Strategy) -> None:
    with pytest.raises(EncodeOptionError, match="comment"):
        tiny_rgb().save(io.BytesIO(), "GRACE", strategy=strategy, comment=b"GRACE\x00\x01\x00{")
    out = io.BytesIO()
    tiny_rgb().save(out, "GRACE", strategy=strategy, comment=b'{"weights":[1,2,3]}')
    assert Image.open(out).format == "GRACE"


def test_bt601_strategy_does_exactly_a_plain_jpegs_work(photo: Image.Image, make_strategy: Any) -> None:
    """BT.601 weights: libjpeg converts the colours both ways, so the file is
    Pillow's JPEG with the same tables plus the metadata segment, and the
    GRACE-aware decode is the plain decode."""
    bt601 = make_strategy(weights=(0.299, 0.587, 0.114))
    grace, plain = io.BytesIO(), io.BytesIO()
    photo.save(grace, "GRACE", strategy=bt601)
    shared = bt601.tables[1] == bt601.tables[2]  # then V uses U's table, written once, as in Pillow's JPEG
    qtables = [list(t) for t in (bt601.tables[:2] if shared else bt601.tables)]
    photo.save(plain, "JPEG", qtables=qtables, subsampling=0, optimize=True)
    (app11,) = jm.find(grace.getvalue(), 0xFFEB)
    without = grace.getvalue()[: app11.offset] + grace.getvalue()[app11.offset + 4 + len(app11.payload) :]
    assert without == plain.getvalue()
    with Image.open(grace) as g, Image.open(io.BytesIO(grace.getvalue()), formats=["JPEG"]) as p:
        assert g.format == "GRACE" and g.tobytes() == p.tobytes()

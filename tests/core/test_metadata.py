"""The APP11 segment API used by readers outside Pillow's parser (metadata.scan, find)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from pillow_grace import GraceFileError, GraceMetadata, Strategy
from pillow_grace.core import metadata
from tests.support import jpegmarkers as jm


@pytest.fixture(scope="module")
def grace_file(photo: Image.Image, make_strategy: Any) -> tuple[bytes, Strategy]:
    s = make_strategy("meta", weights=(0.25, 0.5, 0.25))
    buf = io.BytesIO()
    photo.crop((0, 0, 32, 24)).save(buf, "GRACE", strategy=s, exif=b"Exif\x00\x00" + b"\x00" * 20)
    return buf.getvalue(), s


def test_segment_round_trip() -> None:
    meta = GraceMetadata("name", "sha256:" + "ab" * 32, (0.2, 0.5, 0.3))
    seg = meta.to_segment()
    assert seg[:2] == b"\xff\xeb" and int.from_bytes(seg[2:4], "big") == len(seg) - 2
    assert metadata.parse_payload(seg[4:]) == meta
    assert metadata.parse_payload(b"JP\x00\x01jumbf") is None  # JPEG XT / JUMBF: not ours
    with pytest.raises(ValueError, match="strategy name"):
        GraceMetadata("", "sha256:" + "0" * 64, (0.2, 0.5, 0.3)).to_segment()


def test_scan_agrees_with_the_pillow_opener(grace_file: tuple[bytes, Strategy]) -> None:
    data, s = grace_file
    found = metadata.scan(io.BytesIO(data))
    assert found == GraceMetadata("meta", s.content_hash, s.weights)
    with Image.open(io.BytesIO(data)) as im:
        assert im.grace == found  # type: ignore[attr-defined]
    plain = io.BytesIO()
    Image.new("RGB", (8, 8)).save(plain, "JPEG")
    assert metadata.scan(io.BytesIO(plain.getvalue())) is None
    with pytest.raises(SyntaxError, match="not a JPEG"):
        metadata.scan(io.BytesIO(b"\x89PNG\r\n"))


def test_scan_refuses_broken_headers_around_a_grace_segment(grace_file: tuple[bytes, Strategy]) -> None:
    data, _s = grace_file
    seg = jm.find(data, 0xFFEB)[0]
    end_of_app11 = seg.offset + 4 + len(seg.payload)
    with pytest.raises(GraceFileError, match="broken JPEG headers"):
        metadata.scan(io.BytesIO(data[:end_of_app11]))  # no start of scan after it
    with pytest.raises(GraceFileError, match="corrupt"):
        metadata.scan(io.BytesIO(data[: end_of_app11 - 10]))  # segment cut short
    bad_length = data[:end_of_app11] + b"\xff\xdb\x00\x01" + data[end_of_app11 + 4 :]
    with pytest.raises(GraceFileError, match="bad segment length"):
        metadata.scan(io.BytesIO(bad_length))


def test_find_on_segment_lists() -> None:
    payload = GraceMetadata("x", "sha256:" + "0" * 64, (0.2, 0.5, 0.3)).to_payload()
    assert metadata.find([("APP0", b"JFIF\x00"), ("APP11", payload), ("COM", b"GRACE\x00")]) is not None
    assert metadata.find([("APP1", b"Exif\x00\x00GRACE")]) is None
    with pytest.raises(GraceFileError, match="APP3"):
        metadata.find([("APP3", payload)])
    with pytest.raises(GraceFileError, match="two"):
        metadata.find([("APP11", payload), ("APP11", payload)])


@pytest.mark.parametrize(
    ("header", "damaged"),
    [
        (b"\xff\xd8 plain header", False),
        (b"Exif\x00\x00Artist\x00GRACE\x00\x01\x02", False),  # the word, even NUL-terminated
        (b"xx GRACE\x00\x01\x00{...", True),
        (b'xx\x00\x8fGRA\x9fE\x00\x01\x00{"strategy":"s",', True),
        (b'xx\x8fGRA\x9fE\x00\x01\x00{\xffstrategy":"s",', True),  # three bytes changed
        (b'xx\x8fGRB\x9fE\x00\x01\x00{\xffstr\x00tegy":"s",', False),  # five: noise
        # JSON that is not in a GRACE segment's layout: ordinary comments and XMP
        (b'junk "hash":"sha256:0123456789abcdef', False),
        (b'junk "weights":[0.2,', False),
        (b'{"strategy":"s","hash":"sha256:00","weights":[1]}', False),
    ],
)
def test_looks_damaged(header: bytes, damaged: bool) -> None:
    assert metadata.looks_damaged(header) is damaged


def _segment(marker: int, payload: bytes) -> bytes:
    return marker.to_bytes(2, "big") + (len(payload) + 2).to_bytes(2, "big") + payload


_REMAINS = b'GRAC\x00E\x00\x01\x00{"strategy":"s","hash":"sha256:'  # one byte inserted (issue #18, item 4)
_BIG = b"http://ns.adobe.com/xap/1.0/\x00" + b'<x a="1" CreateDate="rate"/>' * 1200  # a 31 KB XMP block
_TABLES = _segment(0xFFDB, bytes(65)) + _segment(0xFFC0, bytes(15))


@pytest.mark.parametrize(
    ("header", "damaged"),
    [
        (b"\xff\xd8" + _segment(0xFFE0, b"JFIF\x00") + _REMAINS + _TABLES, True),  # junk between segments
        (b"\xff\xd8" + _segment(0xFFE1, _REMAINS + _BIG) + _TABLES, True),  # head of a large segment
        (b"\xff\xd8" + _segment(0xFFE1, _BIG + _REMAINS) + _TABLES, True),  # tail: swallowed by a length
        (b"\xff\xd8" + _segment(0xFFE1, _BIG[:20000] + _REMAINS + _BIG[:8000]) + _TABLES, False),
        (b"\xff\xd8" + _segment(0xFFE1, _BIG) + _TABLES + _REMAINS, False),  # after the frame header
        (b"\xff\xd8" + _segment(0xFFE1, _BIG) + _TABLES, False),
    ],
    ids=["junk", "head", "tail", "deep inside XMP", "after SOF", "plain XMP"],
)
def test_where_remains_are_searched(header: bytes, damaged: bool) -> None:
    """Remains with an inserted byte are found wherever a damaged file can
    hold them; the inside of a large block and what follows the frame header
    are not searched (docs/file-format.md), which keeps opening cheap."""
    assert metadata.looks_damaged(header) is damaged


def test_scan_of_a_large_xmp_block_is_cheap() -> None:
    """Issue #18, item 13: the scan looked at the whole header five times and
    ran a Python check at every "rate" (of "CreateDate"): 2-4x Pillow's own
    open. Now only the block's ends are searched, whatever it holds."""
    import timeit

    xmp = b"http://ns.adobe.com/xap/1.0/\x00" + b'<x xmp:CreateDate="2024" crs:Rate="1"/>' * 800
    header = b"\xff\xd8" + _segment(0xFFE0, b"JFIF\x00\x01\x01") + _segment(0xFFE1, xmp) + _TABLES
    assert len(xmp) > 30_000
    assert len(metadata._searched(header)) < 1024
    assert metadata.looks_damaged(header) is False
    per_call = min(timeit.repeat(lambda: metadata.looks_damaged(header), number=20, repeat=5)) / 20
    assert per_call < 40e-6, f"{per_call * 1e6:.0f} us per header"  # about 5 now, 90 before

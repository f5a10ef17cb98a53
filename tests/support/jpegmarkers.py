"""Minimal JPEG marker walker for tests: independent of the code under test."""

from __future__ import annotations

import struct
from dataclasses import dataclass


@dataclass
class Segment:
    marker: int  # e.g. 0xFFE0
    offset: int  # of the FF byte
    payload: bytes  # without marker and length; b"" for SOI


def segments(data: bytes) -> list[Segment]:
    """Marker segments from SOI up to and including SOS."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    out = [Segment(0xFFD8, 0, b"")]
    pos = 2
    while pos < len(data):
        assert data[pos] == 0xFF, f"expected a marker at {pos}"
        marker = 0xFF00 | data[pos + 1]
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        out.append(Segment(marker, pos, data[pos + 4 : pos + 2 + length]))
        if marker == 0xFFDA:
            break
        pos += 2 + length
    return out


def find(data: bytes, marker: int) -> list[Segment]:
    return [s for s in segments(data) if s.marker == marker]


def replace_segment(data: bytes, seg: Segment, payload: bytes) -> bytes:
    """``data`` with ``seg``'s payload replaced (length field updated)."""
    end = seg.offset + 4 + len(seg.payload)
    head = struct.pack(">HH", seg.marker, len(payload) + 2)
    return data[: seg.offset] + head + payload + data[end:]


def header_end(data: bytes) -> int:
    """Offset of the first byte of entropy-coded data."""
    sos = find(data, 0xFFDA)[0]
    return sos.offset + 4 + len(sos.payload)


ZIGZAG = (
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
)  # fmt: skip
"""ZIGZAG[k] is the natural (row-major) index of the k-th coefficient in zigzag order."""


def dqt_tables(data: bytes) -> dict[int, tuple[int, list[int]]]:
    """{table id: (precision bits, 64 steps in natural order)} from the DQT segments."""
    out = {}
    for seg in find(data, 0xFFDB):
        p = seg.payload
        while p:
            pq, tq = p[0] >> 4, p[0] & 15
            n = 64 * (2 if pq else 1)
            raw = p[1 : 1 + n]
            vals = list(struct.unpack(">64H", raw)) if pq else list(raw)
            natural = [0] * 64
            for k, v in enumerate(vals):
                natural[ZIGZAG[k]] = v
            out[tq] = (16 if pq else 8, natural)
            p = p[1 + n :]
    return out


def frame(data: bytes) -> tuple[int, dict[str, int | list[tuple[int, int, int, int]]]]:
    """(SOF marker, {"precision", "height", "width", "components": [(id, h, v, tq)]})."""
    for seg in segments(data):
        if 0xFFC0 <= seg.marker <= 0xFFCF and seg.marker not in (0xFFC4, 0xFFC8, 0xFFCC):
            p = seg.payload
            n = p[5]
            comps = [(p[6 + 3 * i], p[7 + 3 * i] >> 4, p[7 + 3 * i] & 15, p[8 + 3 * i]) for i in range(n)]
            return seg.marker, {
                "precision": p[0],
                "height": struct.unpack(">H", p[1:3])[0],
                "width": struct.unpack(">H", p[3:5])[0],
                "components": comps,
            }
    raise AssertionError("no SOF segment")


def component_tables(data: bytes) -> list[list[int]]:
    """Each frame component's quantization table (natural order), following its table id:
    what a decoder applies to Y, U and V, however the DQT segments share them."""
    tables = dqt_tables(data)
    _sof, info = frame(data)
    return [tables[tq][1] for _id, _h, _v, tq in info["components"]]  # type: ignore[union-attr]

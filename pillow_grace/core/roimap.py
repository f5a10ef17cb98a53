"""The block map segment: which MCUs of an ROI-coded file were coded with a
background policy (docs/file-format.md, "The ROI map segment").

Written only on request (``roi_map=True``, see :mod:`.roi`): a plain decoder
needs nothing from it, but a receiver that keeps earlier frames
(:class:`pillow_grace.BackgroundFill`) uses it to tell the blocks it may
complete from them from the blocks the sender coded in full. Layout of the
APP11 payload (big-endian)::

    "ROIMAP" 00         identifier, 7 bytes
    major minor         segment format version, 1 byte each (currently 1, 0)
    mcu_w mcu_h         MCU size in pixels, 1 byte each (8 or 16)
    cols rows           MCUs across and down, 2 bytes each
    n                   number of background groups, 1 byte (1..255)
    n x (keep, step)    per group: zigzag coefficients kept (1..64), step multiple (1..64)
    zlib stream         cols x rows bytes, row by row: 0 = coded as without ROI,
                        g = coded by group g

The identifier does not start like the GRACE segment's ("GRACE"), so readers
that predate the map skip it as a foreign APP11 segment.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from pillow_grace.core.errors import GraceFileError
from pillow_grace.core.metadata import APP11

IDENTIFIER = b"ROIMAP\x00"
SEGMENT_VERSION = (1, 0)
_HEAD = struct.Struct(">BBBBHHB")
#: Largest APPn payload a JPEG segment can hold.
MAX_PAYLOAD = 65533


@dataclass(frozen=True)
class RoiMap:
    """Per MCU, how it was coded: ``codes[r, c]`` is 0 for an MCU coded as
    without ROI, else ``g`` for ``groups[g - 1]`` = (zigzag coefficients
    kept, multiple of the table's step)."""

    mcu: tuple[int, int]
    """(width, height) of an MCU in pixels."""
    codes: np.ndarray
    groups: tuple[tuple[int, int], ...]

    def to_segment(self) -> bytes:
        """The whole marker segment (marker, length, payload), for Pillow's ``extra=``."""
        rows, cols = self.codes.shape
        if not 1 <= len(self.groups) <= 255:
            raise ValueError(f"an ROI map holds 1..255 background groups, got {len(self.groups)}")
        head = _HEAD.pack(*SEGMENT_VERSION, self.mcu[0], self.mcu[1], cols, rows, len(self.groups))
        body = b"".join(bytes((k, s)) for k, s in self.groups)
        codes = zlib.compress(np.ascontiguousarray(self.codes, np.uint8).tobytes(), 9)
        payload = IDENTIFIER + head + body + codes
        if len(payload) > MAX_PAYLOAD:
            raise ValueError(f"the ROI map takes {len(payload)} bytes, over a JPEG segment's {MAX_PAYLOAD}")
        return struct.pack(">HH", APP11, len(payload) + 2) + payload

    def background(self) -> np.ndarray:
        """Boolean (rows, cols): the MCUs coded with a background policy."""
        return self.codes > 0


def parse_payload(payload: bytes) -> RoiMap | None:
    """Decode an APP11 payload; None if it is not an ROI map, GraceFileError if it is a corrupt one."""
    if not payload.startswith(IDENTIFIER):
        return None
    rest = payload[len(IDENTIFIER) :]
    if len(rest) < _HEAD.size:
        raise GraceFileError("GRACE ROI map segment is truncated (no header)")
    major, minor, mw, mh, cols, rows, n = _HEAD.unpack_from(rest)
    if major != SEGMENT_VERSION[0]:
        raise GraceFileError(f"GRACE ROI map segment version {major}.{minor} is not supported "
                             f"(this pillow-grace reads {SEGMENT_VERSION[0]}.x)")
    if mw not in (8, 16) or mh not in (8, 16) or not cols or not rows or not n:
        raise GraceFileError(f"GRACE ROI map segment is corrupt: MCU {mw}x{mh}, {cols}x{rows} MCUs, "
                             f"{n} groups")
    body = rest[_HEAD.size :]
    if len(body) < 2 * n:
        raise GraceFileError("GRACE ROI map segment is truncated (groups)")
    groups = tuple((body[2 * i], body[2 * i + 1]) for i in range(n))
    if any(not (1 <= k <= 64 and 1 <= s <= 64) for k, s in groups):
        raise GraceFileError(f"GRACE ROI map segment is corrupt: groups {groups} out of range")
    want = cols * rows
    inflate = zlib.decompressobj()
    try:
        raw = inflate.decompress(body[2 * n :], want + 1)  # bounded: a bomb stops at one byte too many
    except zlib.error as e:
        raise GraceFileError(f"GRACE ROI map segment is corrupt: {e}") from None
    if len(raw) != want or not inflate.eof or inflate.unused_data:
        raise GraceFileError(f"GRACE ROI map segment is corrupt: {len(raw)} codes for {cols}x{rows} MCUs")
    codes = np.frombuffer(raw, np.uint8).reshape(rows, cols)
    if int(codes.max()) > n:
        raise GraceFileError(f"GRACE ROI map segment is corrupt: code {int(codes.max())} with {n} groups")
    return RoiMap((mw, mh), codes.copy(), groups)


def find(segments: Iterable[tuple[str, bytes]]) -> RoiMap | None:
    """The ROI map among parsed marker segments (Pillow's ``applist``), or None.
    Two maps in one file are damage: which one the writer meant cannot be told."""
    maps = [m for marker, payload in segments if marker == "APP11" and (m := parse_payload(payload))]
    if len(maps) > 1:
        raise GraceFileError(f"the file holds {len(maps)} GRACE ROI map segments; a writer writes one")
    return maps[0] if maps else None


def from_groups(mcu: tuple[int, int], shape: tuple[int, int],
                groups: Sequence[tuple[np.ndarray, int, int]]) -> RoiMap:
    """The map of :func:`.roi.apply`'s groups: (MCU mask over the whole MCUs,
    keep, step multiple) each; MCUs outside every mask (the ROI, and those cut
    by the frame's edge) are code 0."""
    codes = np.zeros(shape, np.uint8)
    for g, (sel, _keep, _mult) in enumerate(groups, 1):
        codes[: sel.shape[0], : sel.shape[1]][sel] = g
    return RoiMap(mcu, codes, tuple((keep, mult) for _, keep, mult in groups))


__all__ = ["IDENTIFIER", "RoiMap", "find", "from_groups", "parse_payload"]

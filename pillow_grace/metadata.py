"""The APP11 metadata segment that marks a JPEG as GRACE (docs/file-format.md).

Layout of the segment, after the marker ``FF EB`` and the 2-byte length::

    "GRACE" 00          identifier, 6 bytes
    major minor         segment format version, 1 byte each (currently 1, 0)
    JSON (UTF-8)        {"strategy": name, "hash": "sha256:...",
                         "weights": [Wr, Wg, Wb]}

APP11 is shared with JPEG XT / JUMBF (identifier "JP"), so the identifier is
checked first and foreign APP11 segments are ignored. Readers accept any
minor version of major 1 and ignore unknown JSON keys; a different major
version is refused, since the planes could not be interpreted.

The segment decides how the pixels are turned back into RGB, so a reader is
strict: anything that looks like a GRACE segment but is not a valid one
raises :class:`GraceFileError` instead of letting the file be shown with the
wrong colours.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from .errors import GraceFileError, StrategyError
from .strategy import validate_weights

IDENTIFIER = b"GRACE\x00"
#: Any APPn payload starting with this is meant to be a GRACE segment.
_PREFIX = IDENTIFIER[:5]
SEGMENT_VERSION = (1, 0)
APP11 = 0xFFEB
#: Largest payload accepted when reading; a real one is under 250 bytes.
MAX_PAYLOAD = 4096
MAX_NAME = 128
_HASH_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class GraceMetadata:
    """What a GRACE file says about itself."""

    strategy: str
    content_hash: str
    weights: tuple[float, float, float]
    version: tuple[int, int] = SEGMENT_VERSION

    def to_payload(self) -> bytes:
        """The segment payload (identifier, version, JSON), without marker and length."""
        if not 0 < len(self.strategy) <= MAX_NAME:
            raise ValueError(f"strategy name must be 1..{MAX_NAME} characters, got {self.strategy!r}")
        body = json.dumps(
            {"strategy": self.strategy, "hash": self.content_hash, "weights": list(self.weights)},
            separators=(",", ":"),
            allow_nan=False,
        ).encode("utf-8")
        return IDENTIFIER + bytes(self.version) + body

    def to_segment(self) -> bytes:
        """The whole marker segment, ready for Pillow's ``extra=``."""
        payload = self.to_payload()
        return struct.pack(">HH", APP11, len(payload) + 2) + payload


def parse_payload(payload: bytes) -> GraceMetadata | None:
    """Decode an APP11 payload; None if it is not ours, GraceFileError if corrupt."""
    if not payload.startswith(_PREFIX):
        return None
    if not payload.startswith(IDENTIFIER):
        raise GraceFileError("GRACE metadata segment has a corrupt identifier (expected 'GRACE\\0')")
    if len(payload) > MAX_PAYLOAD:
        raise GraceFileError(f"GRACE metadata segment is {len(payload)} bytes, over the {MAX_PAYLOAD} cap")
    rest = payload[len(IDENTIFIER) :]
    if len(rest) < 2:
        raise GraceFileError("GRACE metadata segment is truncated (no version bytes)")
    major, minor = rest[0], rest[1]
    if major != SEGMENT_VERSION[0]:
        raise GraceFileError(
            f"GRACE metadata segment version {major}.{minor} is not supported "
            f"(this pillow-grace reads {SEGMENT_VERSION[0]}.x)"
            + ("; upgrade pillow-grace" if major > SEGMENT_VERSION[0] else "")
        )
    try:
        obj = json.loads(rest[2:].decode("utf-8"), parse_constant=_reject, object_pairs_hook=_pairs)
    except RecursionError:
        raise GraceFileError("GRACE metadata segment is corrupt: JSON nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise GraceFileError(f"GRACE metadata segment is corrupt: {e}") from None
    if not isinstance(obj, dict):
        raise GraceFileError("GRACE metadata segment is corrupt: not a JSON object")
    name, digest = obj.get("strategy"), obj.get("hash")
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME:
        raise GraceFileError(
            f"GRACE metadata segment is corrupt: 'strategy' must be a name of 1..{MAX_NAME} characters"
        )
    if not isinstance(digest, str) or not _HASH_RE.match(digest):
        raise GraceFileError("GRACE metadata segment is corrupt: 'hash' must be 'sha256:' + 64 hex digits")
    try:
        weights = validate_weights(obj.get("weights"), field_name="weights")
    except StrategyError as e:
        raise GraceFileError(f"GRACE metadata segment claims impossible weights: {e}") from None
    return GraceMetadata(name, digest, weights, (major, minor))


def find(segments: Iterable[tuple[str, bytes]]) -> GraceMetadata | None:
    """The GRACE metadata among already-parsed marker segments, e.g. Pillow's
    ``JpegImageFile.applist`` of ``("APP11", payload)`` pairs.

    A payload in another APPn that starts like a GRACE segment, or a second
    GRACE segment, raises GraceFileError: the file was damaged or forged, and
    guessing would risk wrong colours."""
    found: GraceMetadata | None = None
    for marker, payload in segments:
        if not marker.startswith("APP") or not payload.startswith(_PREFIX):
            continue
        if marker != "APP11":
            raise GraceFileError(f"GRACE metadata found in an {marker} segment; it must be in APP11")
        meta = parse_payload(payload)
        if found is not None:
            raise GraceFileError("file holds two GRACE metadata segments")
        found = meta
    return found


#: Byte strings of a GRACE segment that survive damage to its marker or
#: identifier: the identifier with major version 1 (checked to be followed by
#: a minor byte and the JSON), or the JSON keys this library writes.
_ID_V1 = IDENTIFIER + bytes([SEGMENT_VERSION[0]])
_JSON_MARKS = (b'{"strategy":"', b'"hash":"sha256:', b'"weights":[')


def looks_damaged(header: bytes) -> bool:
    """Whether JPEG header bytes hold remains of a GRACE segment.

    For files in which no valid GRACE segment was found: a flipped marker
    byte makes Pillow's parser skip the segment as junk, and a flipped
    identifier byte makes it look foreign. Either way the file would open as
    a plain JPEG with shifted colours; finding the remains lets the reader
    refuse it instead. A few substring searches: about 45 us for a header
    with a 30 KB EXIF block (scripts/measure_open_overhead.py)."""
    i = header.find(_ID_V1)
    while i >= 0:
        if header[i + len(_ID_V1) + 1 : i + len(_ID_V1) + 2] == b"{":
            return True
        i = header.find(_ID_V1, i + 1)
    # A one-byte search (memchr) first: headers without a quote skip the rest.
    return b'"' in header and any(mark in header for mark in _JSON_MARKS)


def scan(fp: IO[bytes]) -> GraceMetadata | None:
    """Read marker headers from SOI up to the first scan; return GRACE metadata.

    For readers that do not go through Pillow's JPEG parser (Pillow's own
    opener uses :func:`find` on the segments it already parsed). Only segment
    headers and APPn payloads are read. Returns None for a JPEG without a
    GRACE segment; raises SyntaxError for data that is not a JPEG at all, and
    GraceFileError when a GRACE segment is present but the headers around it
    are broken."""
    if fp.read(2) != b"\xff\xd8":
        raise SyntaxError("not a JPEG file")
    segments: list[tuple[str, bytes]] = []

    def broken(message: str) -> GraceMetadata | None:
        # Without a GRACE segment so far this is just a bad JPEG: the JPEG
        # decoder reports it. With one, the file must not be decoded.
        if find(segments) is not None:
            raise GraceFileError(f"GRACE file has broken JPEG headers: {message}")
        return None

    while True:
        byte = fp.read(1)
        if not byte:
            return broken("no start of scan")
        if byte != b"\xff":
            continue
        marker = fp.read(1)
        while marker == b"\xff":  # fill bytes
            marker = fp.read(1)
        if not marker:
            return broken("no start of scan")
        code = 0xFF00 | marker[0]
        if code in (0xFFDA, 0xFFD9):  # start of scan / end of image
            return find(segments)
        if code == 0xFF01 or 0xFFD0 <= code <= 0xFFD7 or code == 0xFF00:
            continue  # markers without a length
        raw = fp.read(2)
        if len(raw) < 2:
            return broken("truncated segment")
        (length,) = struct.unpack(">H", raw)
        if length < 2:
            return broken("bad segment length")
        if 0xFFE0 <= code <= 0xFFEF:
            payload = fp.read(length - 2)
            if len(payload) < length - 2:
                segments.append((f"APP{code & 15}", payload))
                return broken("truncated segment")
            segments.append((f"APP{code & 15}", payload))
        else:
            fp.seek(length - 2, 1)


def _reject(name: str) -> None:
    raise ValueError(f"{name} is not allowed")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"key {k!r} appears twice")
        out[k] = v
    return out

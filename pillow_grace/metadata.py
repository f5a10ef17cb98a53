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
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import IO

from .errors import GraceFileError, StrategyError
from .strategy import validate_weights

IDENTIFIER = b"GRACE\x00"
SEGMENT_VERSION = (1, 0)
APP11 = 0xFFEB
#: Largest payload accepted when reading; a real one is under 200 bytes.
MAX_PAYLOAD = 4096


@dataclass(frozen=True)
class GraceMetadata:
    """What a GRACE file says about itself."""

    strategy: str
    content_hash: str
    weights: tuple[float, float, float]
    version: tuple[int, int] = SEGMENT_VERSION

    def to_segment(self) -> bytes:
        """The whole marker segment, ready for Pillow's ``extra=``."""
        body = json.dumps(
            {"strategy": self.strategy, "hash": self.content_hash, "weights": list(self.weights)},
            separators=(",", ":"),
        ).encode("utf-8")
        payload = IDENTIFIER + bytes(self.version) + body
        return struct.pack(">HH", APP11, len(payload) + 2) + payload


def parse_payload(payload: bytes) -> GraceMetadata | None:
    """Decode an APP11 payload; None if it is not ours, GraceFileError if corrupt."""
    if not payload.startswith(IDENTIFIER):
        return None
    if len(payload) > MAX_PAYLOAD:
        raise GraceFileError(f"GRACE metadata segment is {len(payload)} bytes, over {MAX_PAYLOAD}")
    rest = payload[len(IDENTIFIER) :]
    if len(rest) < 2:
        raise GraceFileError("GRACE metadata segment is truncated (no version bytes)")
    major, minor = rest[0], rest[1]
    if major != SEGMENT_VERSION[0]:
        raise GraceFileError(
            f"GRACE metadata segment version {major}.{minor} is not supported "
            f"(this pillow-grace reads {SEGMENT_VERSION[0]}.x); upgrade pillow-grace"
        )
    try:
        obj = json.loads(rest[2:].decode("utf-8"), parse_constant=_reject)
    except (ValueError, UnicodeDecodeError) as e:
        raise GraceFileError(f"GRACE metadata segment is corrupt: {e}") from e
    if not isinstance(obj, dict):
        raise GraceFileError("GRACE metadata segment is corrupt: not a JSON object")
    name, digest = obj.get("strategy"), obj.get("hash")
    if not isinstance(name, str) or not isinstance(digest, str) or len(name) > 128 or len(digest) > 128:
        raise GraceFileError("GRACE metadata segment is corrupt: 'strategy' and 'hash' must be strings")
    try:
        weights = validate_weights(obj.get("weights"), field_name="GRACE metadata 'weights'")
    except StrategyError as e:
        raise GraceFileError(f"GRACE metadata segment claims impossible weights: {e}") from e
    return GraceMetadata(name, digest, weights, (major, minor))


def scan(fp: IO[bytes]) -> GraceMetadata | None:
    """Read marker headers from SOI up to the first scan; return GRACE metadata.

    Only segment headers and APP11 payloads are read, so scanning an ordinary
    JPEG costs a handful of small reads. Returns None for a JPEG without a
    GRACE segment; raises SyntaxError for data that is not a JPEG at all."""
    if fp.read(2) != b"\xff\xd8":
        raise SyntaxError("not a JPEG file")
    found: GraceMetadata | None = None
    while True:
        byte = fp.read(1)
        if not byte:
            return found  # truncated header: leave the error to the JPEG decoder
        if byte != b"\xff":
            continue
        marker = fp.read(1)
        while marker == b"\xff":  # fill bytes
            marker = fp.read(1)
        if not marker:
            return found
        code = 0xFF00 | marker[0]
        if code in (0xFFDA, 0xFFD9):  # start of scan / end of image
            return found
        if code == 0xFF01 or 0xFFD0 <= code <= 0xFFD7 or code == 0xFF00:
            continue  # markers without a length
        raw = fp.read(2)
        if len(raw) < 2:
            return found
        (length,) = struct.unpack(">H", raw)
        if length < 2:
            raise SyntaxError("bad JPEG segment length")
        if code == APP11:
            payload = fp.read(length - 2)
            meta = parse_payload(payload)
            if meta is not None:
                if found is not None:
                    raise GraceFileError("file holds two GRACE metadata segments")
                found = meta
        else:
            fp.seek(length - 2, 1)


def _reject(name: str) -> None:
    raise ValueError(f"{name} is not allowed")

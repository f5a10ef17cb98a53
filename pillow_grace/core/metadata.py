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

import io
import json
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO

from pillow_grace.core._fields import (
    NAME_RULE,
    StrategyName,
    is_content_hash,
    is_plain_name,
    validate_weights,
)
from pillow_grace.core._json import loads_strict
from pillow_grace.core.errors import GraceFileError, StrategyError

IDENTIFIER = b"GRACE\x00"
#: Any APPn payload starting with this is meant to be a GRACE segment.
_PREFIX = IDENTIFIER[:5]
SEGMENT_VERSION = (1, 0)
APP11 = 0xFFEB
#: Largest payload accepted when reading; a real one is under 250 bytes.
MAX_PAYLOAD = 4096


@dataclass(frozen=True)
class GraceMetadata:
    """What a GRACE file says about itself.

    ``strategy`` is always a :class:`StrategyName`, whether the segment was
    read or is about to be written: ``im.grace.strategy`` and
    ``im.info["grace"]["strategy"]`` are the same value, and
    :func:`pillow_grace.load_strategy` looks either up by name only, never
    as a path."""

    strategy: StrategyName
    content_hash: str
    weights: tuple[float, float, float]
    version: tuple[int, int] = SEGMENT_VERSION

    def __post_init__(self) -> None:
        # A plain str from the writer (Strategy.name) becomes a StrategyName
        # too, so that the type says where the value may go whoever built it.
        if not isinstance(self.strategy, StrategyName) and isinstance(self.strategy, str):
            object.__setattr__(self, "strategy", StrategyName(self.strategy))

    def to_payload(self) -> bytes:
        """The segment payload (identifier, version, JSON), without marker and length.

        The name follows the reader's rule (:func:`is_plain_name`): the writer
        never makes a file its own reader refuses."""
        if not is_plain_name(self.strategy):
            raise ValueError(f"strategy name must be {NAME_RULE}, got {str(self.strategy)[:60]!r}")
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
        obj = loads_strict(rest[2:].decode("utf-8"))
    except RecursionError:
        raise GraceFileError("GRACE metadata segment is corrupt: JSON nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise GraceFileError(f"GRACE metadata segment is corrupt: {e}") from None
    if not isinstance(obj, dict):
        raise GraceFileError("GRACE metadata segment is corrupt: not a JSON object")
    name, digest = obj.get("strategy"), obj.get("hash")
    if not is_plain_name(name):
        # The one name rule of strategies (core/_fields.py): a segment naming
        # "../../etc/passwd" or "a\nb" was not written by a GRACE writer.
        raise GraceFileError(
            f"GRACE metadata segment is corrupt: 'strategy' must be {NAME_RULE}, "
            f"got {str(name)[:60]!r}"
        )
    if not is_content_hash(digest):
        raise GraceFileError("GRACE metadata segment is corrupt: 'hash' must be 'sha256:' + 64 hex digits")
    try:
        weights = validate_weights(obj.get("weights"), field_name="weights")
    except StrategyError as e:
        raise GraceFileError(f"GRACE metadata segment claims impossible weights: {e}") from None
    return GraceMetadata(StrategyName(name), digest, weights, (major, minor))


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


#: The first bytes of a GRACE segment as this library writes it: identifier,
#: major version, minor version (any: index _WILDCARD), the JSON's first key.
_TEMPLATE = IDENTIFIER + bytes([SEGMENT_VERSION[0], 0]) + b'{"strategy":"'
_WILDCARD = len(IDENTIFIER) + 1
#: Four disjoint pieces of the template (the minor version byte, which can
#: be anything, is in none): at most _MAX_CHANGED edits (bytes changed,
#: inserted or deleted) leave at least one intact, to be searched for.
#: Each is rare in camera and editor headers ("rate", say, is not: every
#: XMP packet has "CreateDate").
_ANCHORS = ((0, 4), (4, 7), (8, 14), (14, len(_TEMPLATE)))
_MAX_CHANGED = 3
#: The identifier with major version 1, for segments of other 1.x writers.
_ID_V1 = IDENTIFIER + bytes([SEGMENT_VERSION[0]])
#: Segments with a longer payload cannot be a GRACE segment (MAX_PAYLOAD), so
#: only their ends are searched: the head, where a GRACE segment whose own
#: length was damaged upwards starts, and the tail, where a segment before
#: it whose length was damaged upwards (low byte) swallowed it.
_HEAD = 32
_TAIL = 288


def looks_damaged(header: bytes) -> bool:
    """Whether JPEG header bytes hold remains of a GRACE segment.

    For files in which no valid GRACE segment was found: a flipped marker
    byte makes Pillow's parser skip the segment as junk, a flipped identifier
    byte makes it look foreign, an inserted or deleted byte shifts it. Any of
    these would open the file as a plain JPEG with shifted colours; finding
    the remains lets the reader refuse it instead.

    Only the segment's own layout counts as remains: the intact identifier
    and major version followed by a minor byte and ``{``, or the segment's
    first 21 bytes (identifier, version, ``{"strategy":"``) with at most
    three bytes changed, inserted or deleted. JSON alone is not enough:
    cameras and tools put JSON with keys such as ``"hash"`` or ``"weights"``
    in comments and XMP, and a plugin that registers on import must never
    make such files unopenable.

    Cost: every plain JPEG is checked, so this is one pass of C-speed
    searches over the bytes that can hold remains (see :func:`_searched`:
    large EXIF and XMP blocks only at their ends), with no per-byte Python
    work. See ``benchmarks/speed.py --group open``."""
    # One-byte searches (memchr) first. Both rules need one of the
    # template's four "{" or '"' bytes (three edits cannot remove them all);
    # headers without EXIF, XMP or comments hold neither.
    if b"{" not in header and b'"' not in header:
        return False
    text = _searched(header)
    if b"{" not in text and b'"' not in text:
        return False  # the quotes were in DHT/DQT tables
    n = len(_TEMPLATE)
    for lo, hi in _ANCHORS:  # the first anchor, "GRAC", also finds every _ID_V1
        piece = _TEMPLATE[lo:hi]
        i = text.find(piece)
        while i >= 0:
            start = i - lo
            brace = i + len(_ID_V1) + 1  # after the minor version
            if lo == 0 and text.startswith(_ID_V1, i) and text[brace : brace + 1] == b"{":
                return True
            window = text[max(0, start - _MAX_CHANGED) : start + n + _MAX_CHANGED]
            if _edits_to_template(window) <= _MAX_CHANGED:
                return True
            i = text.find(piece, i + 1)
    return False


def _searched(header: bytes) -> bytes:
    """The bytes of ``header`` that can hold remains of a GRACE segment.

    A header that starts like a JPEG is walked segment by segment (a few
    index reads per segment) up to the first table or frame header (DQT,
    DHT, DRI, SOFn, ...). Kept whole: junk between segments, APPn and
    comment segments up to MAX_PAYLOAD, and everything after a length that
    runs past the end. Of a longer APPn or comment payload only the first
    _HEAD and last _TAIL bytes are kept. Left out: the tables and all that
    follows them (libjpeg, and so the GRACE writer, puts every APPn segment
    before the first table, so no damage to the file can move a GRACE
    segment's bytes there). Data that is not a JPEG header is searched
    whole."""
    if not header.startswith(b"\xff\xd8"):
        return header
    n = len(header)
    spans: list[int] = []  # start, end, start, end, ... of the kept bytes; touching ones merged
    pos, rest_whole = 2, True
    while pos + 4 <= n:
        start, code = pos, header[pos + 1]
        if header[pos] != 0xFF:  # junk: kept up to the next possible marker
            pos = header.find(b"\xff", pos + 1)
            pos = n if pos < 0 else pos
        elif 0xC0 <= code <= 0xCF or 0xD9 <= code <= 0xDF:
            rest_whole = False  # a table or frame header: the APPn segments are over
            break
        elif code == 0xFF or code in _NO_LENGTH:  # a fill byte, or a marker without a length
            pos += 1 if code == 0xFF else 2
        else:
            end = pos + 2 + ((header[pos + 2] << 8) | header[pos + 3])
            if end > n:
                break  # a length past the end: the rest is kept whole, below
            pos = end
            if end - start > MAX_PAYLOAD + 4 + _HEAD + _TAIL:
                spans += (start, start + 4 + _HEAD, end - _TAIL, end)
                continue
        if spans and spans[-1] == start:
            spans[-1] = pos
        else:
            spans += (start, pos)
    if rest_whole and pos < n:
        spans += (pos, n)  # broken or unfinished: the rest whole
    if len(spans) == 2:  # the usual case: the APPn segments, one after the other
        return header[spans[0] : spans[1]]
    # 0xFF is no template byte: nothing matches across a cut
    return b"\xff".join([header[spans[i] : spans[i + 1]] for i in range(0, len(spans), 2)])


#: Markers without a length field: TEM, SOI, RST0-7 (and 00, a stuffed byte).
_NO_LENGTH = frozenset({0x00, 0x01, 0xD8, *range(0xD0, 0xD8)})


def _edits_to_template(window: bytes) -> int:
    """Fewest bytes changed, inserted or deleted to turn some run of
    ``window`` into _TEMPLATE (the minor version byte matches anything).

    Semi-global edit distance, cut off above _MAX_CHANGED; runs only where
    an anchor of the template was found, which plain headers rarely have."""
    cap = _MAX_CHANGED + 1
    prev = [0] * (len(window) + 1)  # the run may start anywhere in window
    for r, t in enumerate(_TEMPLATE, 1):
        cur = [min(r, cap)] + [cap] * len(window)
        wild = r - 1 == _WILDCARD
        for j, w in enumerate(window, 1):
            cost = prev[j - 1] + (0 if wild or w == t else 1)
            cur[j] = min(cost, prev[j] + 1, cur[j - 1] + 1, cap)
        if min(cur) >= cap:
            return cap
        prev = cur
    return min(prev)


def mimics_segment(blob: bytes) -> bool:
    """Whether ``blob``, written into any marker segment, would make a reader
    take the file for a damaged GRACE file (the writer refuses such blobs, so
    that it never writes a file its own reader rejects)."""
    return blob.startswith(_PREFIX) or looks_damaged(blob)


def lookalike_segments(segments: Sequence[tuple[str, int, bytes]]) -> list[str]:
    """Which of the header segments a writer is about to write, in file
    order as ``(name, marker, payload)``, would make readers refuse a file
    *without* a GRACE segment as a damaged GRACE file (empty if none).

    Checking each blob alone is not enough: the bytes that follow a comment
    or an XMP packet in the file can complete a GRACE layout that the blob
    only starts. The whole header is checked with :func:`looks_damaged`, as
    readers do; the culprits are the segments whose removal clears it (all
    of them when no single one does)."""

    def header(skip: int) -> bytes:
        body = b"".join(
            struct.pack(">HH", marker, len(payload) + 2) + payload
            for i, (_name, marker, payload) in enumerate(segments)
            if i != skip
        )
        return b"\xff\xd8" + body + b"\xff\xc0\x00\x11"  # the frame header follows

    if not looks_damaged(header(-1)):
        return []
    culprits = [name for i, (name, _m, _p) in enumerate(segments) if not looks_damaged(header(i))]
    return culprits or [name for name, _m, _p in segments]


def inspect(data: bytes) -> GraceMetadata | None:
    """Decide whether a complete JPEG in memory is a GRACE file, without
    decoding it and without Pillow (so no decompression-bomb limit applies).

    Returns the metadata of a GRACE file and None for a file that certainly
    is not one (no GRACE segment and no remains of one in its headers, or
    not a JPEG at all). Raises :class:`GraceFileError` for a file that
    carries a GRACE segment, or remains of one, that cannot be trusted: such
    a file must never be decoded with another colour transform. When the
    headers cannot be parsed up to the first scan, the whole buffer is
    searched for remains."""
    fp = io.BytesIO(data)
    try:
        meta = scan(fp)
    except SyntaxError:
        return None  # not a JPEG
    if meta is not None:
        return meta
    reached_scan = data[fp.tell() - 2 : fp.tell()] == b"\xff\xda"
    if looks_damaged(data[: fp.tell()] if reached_scan else data):
        raise GraceFileError(
            "file holds a damaged GRACE metadata segment (corrupt marker or identifier); "
            "refusing to decode it with the wrong colours"
        )
    return None


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

"""The writer checks the header it is about to write, not only each blob
(issue #18, item 5): it never writes a file its own readers refuse."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import pillow_grace
from pillow_grace import EncodeOptionError, GraceFileError, Strategy
from pillow_grace.core import metadata

BT601 = (0.299, 0.587, 0.114)
#: The issue's example: the identifier with another major version and the
#: JSON key, cut short, in a comment of a file without a GRACE segment.
LOOKALIKE = b'note GRACE\x00\x02\x00{"strategy":'


@pytest.fixture(scope="module")
def plain_601(make_strategy: Any) -> Strategy:
    return make_strategy("plain-601", weights=BT601)


@pytest.mark.parametrize("field", ["comment", "xmp", "exif"])
def test_lookalike_bytes_are_refused_before_writing(plain_601: Strategy, field: str) -> None:
    value = (b"Exif\x00\x00" + LOOKALIKE) if field == "exif" else LOOKALIKE
    im = Image.new("RGB", (16, 16))
    with pytest.raises(EncodeOptionError, match=field):
        im.save(io.BytesIO(), "GRACE", strategy=plain_601, metadata=False, **{field: value})
    with pytest.raises(EncodeOptionError, match=field):
        pillow_grace.check_encode(im, plain_601, metadata=False, **{field: value})


def test_the_header_is_checked_as_a_whole() -> None:
    """A layout cut between two segments' blobs would only be seen in the
    whole header: the rule lives in metadata and is applied to the header."""
    template_start, template_end = b"xx GRACE\x00\x01\x00", b'{"strategy":"s'
    joined = [("a", 0xFFFE, template_start + template_end)]
    assert metadata.lookalike_segments(joined) == ["a"]
    apart = [("a", 0xFFFE, template_start), ("b", 0xFFE1, b"http://ns.adobe.com/xap/1.0/\x00<x/>")]
    assert metadata.lookalike_segments(apart) == []


_PIECES = st.sampled_from(
    [b"GRACE", b"GRAC", b"\x00", b"\x01", b"\x02", b"{", b'"', b"strategy", b'":"', b"E"]
)
_BLOB = st.lists(st.one_of(_PIECES, st.binary(max_size=3)), max_size=10).map(b"".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(comment=_BLOB, xmp=_BLOB, keep_segment=st.booleans())
def test_every_file_written_is_readable(
    plain_601: Strategy, comment: bytes, xmp: bytes, keep_segment: bool
) -> None:
    """Either the writer refuses the options, or both readers read the file."""
    im = Image.new("RGB", (16, 8), (10, 200, 30))
    buf = io.BytesIO()
    try:
        im.save(
            buf, "GRACE", strategy=plain_601, metadata=keep_segment, comment=comment or None, xmp=xmp or None
        )
    except EncodeOptionError:
        return
    try:
        with Image.open(io.BytesIO(buf.getvalue())) as back:
            back.load()
    except GraceFileError as e:
        pytest.fail(f"wrote a file Image.open refuses: {e}")
    cv2 = pytest.importorskip("cv2")
    import grace_opencv as gcv

    try:
        gcv.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_COLOR)
    except GraceFileError as e:
        pytest.fail(f"wrote a file grace_opencv.imdecode refuses: {e}")

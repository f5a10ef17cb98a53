"""A strategy name read from an image never becomes a path.

A program that serves frames from many cameras may load "the strategy that
wrote this frame": ``load_strategy(Image.open(f).info["grace"]["strategy"])``.
The name comes from the file, so a hostile one (``../../etc/passwd``, an
absolute path, ``x.json``) must be looked up by name only or refused.
"""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from pillow_grace import GraceFileError, Strategy, StrategyError, StrategyNotFoundError, load_strategy
from pillow_grace.core._fields import StrategyName, is_plain_name
from pillow_grace.core.metadata import IDENTIFIER, SEGMENT_VERSION, GraceMetadata

#: Names no GRACE writer makes, which a hostile file may carry.
HOSTILE = ("../../../etc/passwd", "/etc/passwd", "a\nb", "x\n", ".hidden", "a/b", "a\\b", "é", "a" * 129)


def _frame_named(name: str, strategy: Strategy) -> bytes:
    """A JPEG whose GRACE segment names ``name``, built byte by byte as a
    hostile writer would (GraceMetadata itself refuses such a name)."""
    body = json.dumps({"strategy": name, "hash": strategy.content_hash, "weights": list(strategy.weights)})
    payload = IDENTIFIER + bytes(SEGMENT_VERSION) + body.encode("utf-8")
    segment = struct.pack(">HH", 0xFFEB, len(payload) + 2) + payload
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 120, 30)).save(out, "JPEG", extra=segment)
    return out.getvalue()


def _name_read_from(data: bytes) -> str | None:
    """The strategy name an image reports, or None where the reader refuses the file."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.info["grace"]["strategy"]
    except GraceFileError:
        return None


def test_the_reader_refuses_a_name_that_is_not_a_plain_name(tmp_path: Path, make_strategy: Any) -> None:
    """The segment's name follows the one name rule (core/_fields.py): a file
    naming a path is damaged or forged, and opening it says so."""
    victim = make_strategy("victim")
    path = tmp_path / "victim.json"
    victim.save(path)  # a valid strategy that the hostile name points at
    for hostile in (*HOSTILE, str(path), str(tmp_path / "victim")):
        data = _frame_named(hostile, victim)
        with pytest.raises(GraceFileError, match=r"'strategy' must be 1-128 ASCII letters"):
            Image.open(io.BytesIO(data))
        assert _name_read_from(data) is None


def test_a_forged_string_name_is_still_never_opened(tmp_path: Path, make_strategy: Any) -> None:
    """Should a name that is not plain reach load_strategy as a StrategyName
    (built by a program, not read), it is refused rather than opened."""
    path = tmp_path / "victim.json"
    make_strategy("victim").save(path)
    for hostile in (str(path), *HOSTILE):
        with pytest.raises(StrategyError, match=r"not a plain name.*never opened as paths"):
            load_strategy(StrategyName(hostile))


def test_the_writer_keeps_the_readers_name_rule(make_strategy: Any) -> None:
    s = make_strategy("w")
    for hostile in HOSTILE:
        with pytest.raises(ValueError, match="strategy name must be 1-128 ASCII letters"):
            GraceMetadata(hostile, s.content_hash, s.weights).to_segment()


def test_im_grace_strategy_is_a_name_not_a_path(
    tmp_path: Path, make_strategy: Any, monkeypatch: pytest.MonkeyPatch, isolated_registry: Path
) -> None:
    """``im.grace.strategy`` is the same StrategyName as ``info["grace"]["strategy"]``:
    neither opens a file of that name in the working folder."""
    monkeypatch.chdir(tmp_path)
    make_strategy("planted").save(tmp_path / "planted.json")
    with Image.open(io.BytesIO(_frame_named("planted.json", make_strategy("planted")))) as im:
        name = im.grace.strategy  # type: ignore[attr-defined]
        assert isinstance(name, StrategyName)
        assert name == im.info["grace"]["strategy"] == "planted.json"
    with pytest.raises(StrategyNotFoundError, match=r"unknown strategy .planted\.json."):
        load_strategy(name)


def test_a_json_name_from_a_file_is_looked_up_by_name(
    tmp_path: Path, make_strategy: Any, monkeypatch: pytest.MonkeyPatch, isolated_registry: Path
) -> None:
    """``x.json`` is a valid name, and a path when a user types it; read from a
    file it is only a name: a file of that name in the working folder is not read."""
    monkeypatch.chdir(tmp_path)
    make_strategy("planted").save(tmp_path / "planted.json")
    name = _name_read_from(_frame_named("planted.json", make_strategy("planted")))
    assert name == "planted.json"
    with pytest.raises(StrategyNotFoundError, match=r"unknown strategy .planted\.json."):
        load_strategy(name)  # type: ignore[arg-type]
    assert load_strategy("planted.json").name == "planted"  # typed by a user: a path, as documented


def test_a_plain_name_from_a_file_loads(isolated_registry: Path, make_strategy: Any) -> None:
    s = make_strategy("camera-7")
    s.save(isolated_registry / "camera-7.json")
    name = _name_read_from(_frame_named("camera-7", s))
    assert isinstance(name, StrategyName)
    assert load_strategy(name) == s


def test_one_rule_for_names() -> None:
    for good in ("efficientnet-lite0", "a", "x.json", "A_b-1.2"):
        assert is_plain_name(good)
    for bad in ("", "-x", ".hidden", "a/b", "a\\b", "a\nb", "x\n", "é", "a" * 129, None, 7):
        assert not is_plain_name(bad)
        with pytest.raises(StrategyError, match="field 'name'"):
            Strategy(name=bad, task="other", weights=(0.299, 0.587, 0.114),  # type: ignore[arg-type]
                     tables=((1,) * 64,) * 3)

"""Strict JSON for files that may come from anywhere, and the canonical forms
this library writes.

One home for: the reader that refuses NaN, Infinity and duplicate keys
(strategy files and GRACE metadata segments both go through
:func:`loads_strict`), the canonical JSON a strategy's content hash is taken
over (:func:`hash_body`), and the strategy file's layout (:func:`pretty`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def hash_body(body: Mapping[str, Any]) -> str:
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return "sha256:" + hashlib.sha256(canon.encode("ascii")).hexdigest()


class DuplicateKeyError(ValueError):
    """A JSON object names the same key twice (``.key``)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"key {key!r} appears twice in one object")
        self.key = key


def loads_strict(data: bytes | str) -> Any:
    """``json.loads`` for untrusted files (strategies, GRACE metadata segments).

    Refuses NaN and Infinity (not JSON, and other parsers reject them) and
    duplicate keys (parsers disagree on which value wins, so such a document
    could mean different things to different readers): ValueError, or its
    subclass :class:`DuplicateKeyError`."""
    return json.loads(data, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed (JSON has no NaN or Infinity)")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise DuplicateKeyError(k)
        out[k] = v
    return out


def pretty(x: Any, level: int) -> str:
    pad, inner = "  " * level, "  " * (level + 1)
    if isinstance(x, dict):
        if not x:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {pretty(v, level + 1)}" for k, v in x.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(x, list):
        if all(not isinstance(v, (dict, list)) for v in x):
            cells = [json.dumps(v, allow_nan=False) for v in x]
            if len(cells) == 64:
                rows = [", ".join(cells[i : i + 8]) for i in range(0, 64, 8)]
                return "[\n" + ",\n".join(inner + r for r in rows) + "\n" + pad + "]"
            return "[" + ", ".join(cells) + "]"
        return "[\n" + ",\n".join(inner + pretty(v, level + 1) for v in x) + "\n" + pad + "]"
    return json.dumps(x, allow_nan=False)

"""Edits to a JPEG's headers driven by a fuzzer's bytes (the atheris targets in tests/adapters)."""

from __future__ import annotations

from typing import Any


def edit_headers(fdp: Any, data: bytes, header_end: int) -> bytes:
    """``data`` with one to four edits between its SOI and ``header_end``: a byte inserted,
    deleted or replaced, or everything after a point cut off. ``fdp``: an
    ``atheris.FuzzedDataProvider``, which decides every choice."""
    b = bytearray(data)
    for _ in range(fdp.ConsumeIntInRange(1, 4)):
        op, at = fdp.ConsumeIntInRange(0, 3), fdp.ConsumeIntInRange(2, header_end)
        if op == 0:
            b.insert(at, fdp.ConsumeIntInRange(0, 255))
        elif op == 1 and at < len(b):
            del b[at]
        elif op == 2 and at < len(b):
            b[at] = fdp.ConsumeIntInRange(0, 255)
        else:
            del b[at + fdp.ConsumeIntInRange(0, 64) :]
    return bytes(b)

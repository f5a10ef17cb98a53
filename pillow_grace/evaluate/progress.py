"""A progress bar: tqdm when it is installed, else a plain one on stderr.

The one progress bar of the package: the fitter's probe and the benchmark's sweep use it."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, Protocol

ProgressArg = bool | Callable[[int, int], Any] | None


class Progress(Protocol):
    def update(self, n: int = 1) -> None: ...
    def close(self) -> None: ...


class _Null:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


class _Callback:
    """Calls ``fn(done, total)`` after each step (for GUIs, logging, tests)."""

    def __init__(self, fn: Callable[[int, int], Any], total: int) -> None:
        self.fn, self.total, self.done = fn, total, 0

    def update(self, n: int = 1) -> None:
        self.done += n
        self.fn(self.done, self.total)

    def close(self) -> None:
        pass


class _Stderr:
    """``desc: 7/15 images, 12.3 s`` redrawn in place (only on a terminal: logs get one final line)."""

    def __init__(self, total: int, desc: str, items: str = "images") -> None:
        self.total, self.desc, self.done, self.items = total, desc, 0, items
        self.start = time.monotonic()
        self.tty = sys.stderr.isatty()

    def _line(self) -> str:
        return f"{self.desc}: {self.done}/{self.total} {self.items}, {time.monotonic() - self.start:.1f} s"

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.tty:
            sys.stderr.write("\r" + self._line())
            sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write(("\r" if self.tty else "") + self._line() + "\n")
        sys.stderr.flush()


def make_progress(
    progress: ProgressArg, total: int, desc: str, *, unit: str = "img", leave: bool = True
) -> Progress:
    """``progress``: False/None (silent), True (tqdm or stderr), or a ``fn(done, total)`` callback.

    ``unit``: what is counted (tqdm's unit); ``leave``: keep tqdm's bar when done."""
    if not progress:
        return _Null()
    if callable(progress):
        return _Callback(progress, total)
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _Stderr(total, desc, "images" if unit == "img" else f"{unit}s")
    bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=leave)
    return bar  # type: ignore[no-any-return]

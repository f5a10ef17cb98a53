"""Exception types of pillow-grace.

Every error a user can trigger derives from :class:`GraceError`, and each
message names the offending field or option and how to fix it. The classes
also derive from the builtin a caller would naturally catch (``ValueError``
for bad arguments and strategy files, ``OSError`` for bad image files, as
Pillow does), so code written against Pillow keeps working.
"""

from __future__ import annotations


class GraceError(Exception):
    """Base class of all pillow-grace errors."""


class StrategyError(GraceError, ValueError):
    """A strategy file or object is invalid, unknown or unsupported.

    ``field`` is the dotted JSON path of the offending field (for example
    ``"quantization.tables[1][7]"``), ``""`` for the document as a whole, or
    None when the error is not about one field (file unreadable, not found).
    Tools can use it to point at the line to fix; people read the message."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class StrategyNotFoundError(StrategyError, LookupError):
    """No strategy of that name is installed or on ``GRACE_STRATEGY_PATH``."""


class EncodeOptionError(GraceError, ValueError):
    """An encoder option is unknown or has a value outside its documented range."""


class UnsupportedModeError(GraceError, OSError):
    """The image mode cannot be written as a GRACE JPEG without losing data."""


class GraceFileError(GraceError, OSError):
    """A file claims to be GRACE but its metadata segment is corrupt or unsupported."""


class WriteTargetError(GraceError, OSError):
    """The path to write is not a regular file (a device node, FIFO or socket).

    Writers replace a path through a temporary file and a rename, which would
    turn such a node into a regular file; writing into it in place is for a
    caller who opens it and passes the file object."""

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
    """A strategy file or object is invalid, unknown or unsupported."""


class StrategyNotFoundError(StrategyError, LookupError):
    """No strategy of that name is installed or on ``GRACE_STRATEGY_PATH``."""


class EncodeOptionError(GraceError, ValueError):
    """An encoder option has a value outside its documented range."""


class UnsupportedModeError(GraceError, OSError):
    """The image mode cannot be written as a GRACE JPEG without losing data."""


class GraceFileError(GraceError, OSError):
    """A file claims to be GRACE but its metadata segment is corrupt."""

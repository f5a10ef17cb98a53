"""pillow-grace: DNN-aware JPEG compression (GRACE) as a Pillow plugin.

Importing this package registers the "GRACE" format with Pillow (the same as
calling :func:`register_grace_opener`, which is idempotent)::

    import pillow_grace
    img.save("frame.jpg", "GRACE", strategy="efficientnet-lite0")
    Image.open("frame.jpg")          # exact RGB back, .format == "GRACE"

docs/usage.md walks through the API; docs/strategy-format.md and
docs/file-format.md specify the two formats.

The encode/decode path needs only Pillow and numpy. Fitting strategies
(:mod:`pillow_grace.fit`) needs torch; the OpenCV drop-in lives in
:mod:`grace_opencv`.
"""

from __future__ import annotations

from pillow_grace._version import __version__
from pillow_grace.core.codec import EncodeOptions, check_encode, encode, encode_planes, tables_for
from pillow_grace.core.errors import (
    EncodeOptionError,
    GraceError,
    GraceFileError,
    StrategyError,
    StrategyNotFoundError,
    UnsupportedModeError,
    WriteTargetError,
)
from pillow_grace.core.hookspecs import hookimpl
from pillow_grace.core.metadata import GraceMetadata
from pillow_grace.core.registry import (
    available_strategies,
    load_strategy,
    plugin_manager,
    reset_plugins,
    strategy_sources,
)
from pillow_grace.core.strategy import Allocation, Perception, RateDistortion, Strategy
from pillow_grace.plugin import GraceImageFile, register_grace_opener

register_grace_opener()

__all__ = [
    "Allocation",
    "EncodeOptionError",
    "EncodeOptions",
    "GraceError",
    "GraceFileError",
    "GraceImageFile",
    "GraceMetadata",
    "Perception",
    "RateDistortion",
    "Strategy",
    "StrategyError",
    "StrategyNotFoundError",
    "UnsupportedModeError",
    "WriteTargetError",
    "__version__",
    "available_strategies",
    "check_encode",
    "encode",
    "encode_planes",
    "hookimpl",
    "load_strategy",
    "plugin_manager",
    "register_grace_opener",
    "reset_plugins",
    "strategy_sources",
    "tables_for",
]

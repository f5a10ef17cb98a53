"""pillow-grace: DNN-aware JPEG compression (GRACE) as a Pillow plugin.

Importing this package registers the "GRACE" format with Pillow (the same as
calling :func:`register_grace_opener`, which is idempotent)::

    import pillow_grace
    img.save("frame.jpg", "GRACE", strategy="efficientnet-lite0")
    Image.open("frame.jpg")          # exact RGB back, .format == "GRACE"

docs/usage.md walks through the API; docs/strategy-format.md and
docs/file-format.md specify the two formats.

The encode/decode path needs only Pillow, numpy and pluggy. Fitting
strategies (:mod:`pillow_grace.fit`) needs torch; the OpenCV drop-in lives in
:mod:`grace_opencv`.

This namespace holds what an application calls. The rest stays importable
from its module: the plugin manager (:mod:`pillow_grace.core.registry`), the
parts of a strategy (:mod:`pillow_grace.core.strategy`: ``Perception``,
``Allocation``, ``RateDistortion``) and the encoder's helpers for adapters
(:mod:`pillow_grace.core.codec`: ``encode_planes``, ``tables_for``).
"""

# No ``from __future__ import annotations`` here: it would leave the name
# ``annotations`` in the public namespace, and nothing below needs it.
from pillow_grace._version import __version__
from pillow_grace.core.codec import EncodeOptions, check_encode, encode
from pillow_grace.core.errors import (
    EncodeOptionError,
    GraceError,
    GraceFileError,
    StrategyError,
    StrategyNotFoundError,
    UnsupportedModeError,
    WriteTargetError,
)
from pillow_grace.core.fill import BackgroundFill
from pillow_grace.core.hookspecs import hookimpl
from pillow_grace.core.metadata import GraceMetadata
from pillow_grace.core.registry import available_strategies, load_strategy, strategy_sources
from pillow_grace.core.strategy import Strategy
from pillow_grace.plugin import GraceImageFile, register_grace_opener

register_grace_opener()

__all__ = [
    "BackgroundFill",
    "EncodeOptionError",
    "EncodeOptions",
    "GraceError",
    "GraceFileError",
    "GraceImageFile",
    "GraceMetadata",
    "Strategy",
    "StrategyError",
    "StrategyNotFoundError",
    "UnsupportedModeError",
    "WriteTargetError",
    "__version__",
    "available_strategies",
    "check_encode",
    "encode",
    "hookimpl",  # plugin packages decorate their grace_strategies hook with it (docs/usage.md)
    "load_strategy",
    "register_grace_opener",
    "strategy_sources",
]

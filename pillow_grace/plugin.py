"""Pillow adapter: the "GRACE" save format and a GRACE-aware JPEG opener.

``register_grace_plugin()`` (called on ``import pillow_grace``) makes

* ``img.save(path, "GRACE", strategy=...)`` write a GRACE JPEG through
  :func:`pillow_grace.codec.encode`, and
* ``Image.open`` return a :class:`GraceImageFile` (``format == "GRACE"``) for
  files with a GRACE metadata segment, with exact RGB restored from the
  weights stored in the file. Every other JPEG is left to Pillow's own JPEG
  plugin, unchanged: the GRACE opener only reads the marker headers and
  declines.
"""

from __future__ import annotations

from typing import IO, Any

from PIL import Image, ImageFile, JpegImagePlugin

from . import codec, colour, metadata, registry
from .errors import EncodeOptionError, GraceFileError
from .metadata import GraceMetadata

FORMAT = "GRACE"


class GraceImageFile(JpegImagePlugin.JpegImageFile):
    """A JPEG written by GRACE. Decodes the stored G-YUV planes to exact RGB.

    ``info["grace"]`` holds the strategy name, its content hash and the
    colour weights. ``draft("YCbCr", ...)`` gives the raw G-YUV planes."""

    format = FORMAT
    format_description = "GRACE DNN-aware JPEG (G-YUV planes)"
    grace: GraceMetadata

    def _open(self) -> None:
        assert self.fp is not None
        start = self.fp.tell()
        meta = metadata.scan(self.fp)
        if meta is None:
            raise SyntaxError("not a GRACE file (no GRACE APP11 segment)")
        self.fp.seek(start)
        super()._open()
        self.grace = meta
        self.info["grace"] = {
            "strategy": meta.strategy,
            "hash": meta.content_hash,
            "weights": meta.weights,
        }
        self._grace_planes = False
        if self.mode == "RGB":
            if len(self.tile) != 1:
                raise GraceFileError("GRACE file has an unexpected tile layout")
            # Ask libjpeg for the stored planes untouched (no BT.601 YCbCr->RGB);
            # load() applies the inverse G-YUV transform with the file's weights.
            tile = self.tile[0]
            self.tile = [ImageFile._Tile(tile[0], tile[1], tile[2], ("RGB", "RGB"))]
            self._grace_planes = True
        elif self.mode != "L":
            raise GraceFileError(
                f"GRACE file has {self.layers} components in mode {self.mode}; "
                "GRACE writes 1 (luma) or 3 (G-YUV) components"
            )

    def draft(
        self, mode: str | None, size: tuple[int, int] | None
    ) -> tuple[str, tuple[int, int, float, float]] | None:
        """As for JPEG. mode "YCbCr" keeps the raw G-YUV planes; "L" gives the
        G-YUV luma plane (the DNN-weighted luma, not BT.601)."""
        if self._grace_planes and self.tile and mode in ("YCbCr", "L"):
            tile = self.tile[0]
            self.tile = [ImageFile._Tile(tile[0], tile[1], tile[2], (mode, ""))]
            self._mode = mode
            self._grace_planes = False
            mode = None
        return super().draft(mode, size)

    def load(self) -> Any:
        needs_inverse = bool(self.tile) and self._grace_planes
        pixel = super().load()
        if needs_inverse and not self.tile:
            self._grace_planes = False
            self.im = colour.planes_to_rgb(self._new(self.im), self.grace.weights).im
            pixel = Image.Image.load(self)
        return pixel


def _accept(prefix: bytes) -> bool:
    return prefix.startswith(b"\xff\xd8\xff")


def _save(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    info = dict(im.encoderinfo)
    strategy = info.pop("strategy", None)
    if strategy is None:
        raise EncodeOptionError(
            'the GRACE format needs a strategy: img.save(path, "GRACE", strategy="<name>"); '
            f"available: {', '.join(registry.available_strategies())}"
        )
    for key in ("qtables", "keep_rgb", "streamtype"):
        if key in info:
            raise EncodeOptionError(
                f"option {key!r} is not supported by the GRACE format: the strategy decides it"
            )
    codec.encode(im, fp, strategy, codec.EncodeOptions.from_mapping(info))


_registered = False


def register_grace_plugin() -> None:
    """Register the GRACE save format and opener with Pillow (idempotent).

    The opener is placed before Pillow's JPEG opener so that GRACE files get
    exact colours; it declines every non-GRACE JPEG after a header scan."""
    global _registered
    Image.preinit()  # make sure JPEG is registered, so we can go in front of it
    Image.register_open(FORMAT, GraceImageFile, _accept)
    Image.register_save(FORMAT, _save)
    Image.register_mime(FORMAT, "image/jpeg")
    if FORMAT in Image.ID and "JPEG" in Image.ID:
        Image.ID.remove(FORMAT)
        Image.ID.insert(Image.ID.index("JPEG"), FORMAT)
    _registered = True

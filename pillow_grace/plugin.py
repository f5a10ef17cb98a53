"""Pillow adapter: the "GRACE" save format and a GRACE-aware JPEG opener.

``register_grace_opener()`` (called on ``import pillow_grace``, and safe to
call again) makes

* ``img.save(path, "GRACE", strategy=...)`` write a GRACE JPEG through
  :func:`pillow_grace.core.codec.encode`, and
* ``Image.open`` return a :class:`GraceImageFile` (``format == "GRACE"``) for
  files with a GRACE metadata segment, with exact RGB restored from the
  weights stored in the file.

How the opener stays free for ordinary JPEGs: it is registered just before
Pillow's JPEG opener and *is* Pillow's JPEG opener (``jpeg_factory``, which
also recognises MPO) followed by a look at the APPn segments that opener has
already parsed. Without a GRACE segment it returns Pillow's own object,
untouched, so a plain JPEG is parsed once, gets the same class, pixels and
``info`` as without pillow-grace, and costs one loop over a short list.
With a GRACE segment the object is re-classed as :class:`GraceImageFile`, the
way Pillow turns a JPEG into an MPO.

``Image.open(fp, formats=["JPEG"])`` bypasses this opener and gives Pillow's
plain decode (BT.601 colours) of a GRACE file.
"""

from __future__ import annotations

import io
import os
from typing import IO, Any, cast

from PIL import Image, ImageFile, JpegImagePlugin

from pillow_grace.core import _pixels, codec, colour, metadata
from pillow_grace.core.errors import GraceFileError
from pillow_grace.core.metadata import GraceMetadata

FORMAT = "GRACE"


class GraceImageFile(JpegImagePlugin.JpegImageFile):
    """A JPEG written by GRACE. Decodes the stored G-YUV planes to exact RGB.

    ``info["grace"]`` holds the strategy name, its content hash and the
    colour weights. ``draft("YCbCr", ...)`` gives the raw G-YUV planes and
    ``draft("L", ...)`` the G-YUV luma plane; ``draft("RGB", size)`` (what
    ``thumbnail`` uses) scales in the DCT and still restores exact colours."""

    format = FORMAT
    format_description = "GRACE DNN-aware JPEG (G-YUV planes)"
    grace: GraceMetadata
    _grace_planes: bool = False

    def _open(self) -> None:
        # Used by direct construction, GraceImageFile(path); Image.open goes
        # through _open_factory, which adopts an already parsed JpegImageFile.
        super()._open()
        meta = metadata.find(self.applist)
        if meta is None:
            raise SyntaxError("not a GRACE file (no GRACE APP11 segment)")
        self._setup_grace(meta)

    @classmethod
    def adopt(cls, im: JpegImagePlugin.JpegImageFile, meta: GraceMetadata) -> GraceImageFile:
        """Turn a parsed (not yet loaded) JPEG into a GRACE image."""
        im.__class__ = cls
        assert isinstance(im, GraceImageFile)
        im._setup_grace(meta)
        return im

    def _setup_grace(self, meta: GraceMetadata) -> None:
        self.grace = meta
        self.info["grace"] = {
            "strategy": meta.strategy,  # a StrategyName: looked up by name only, never as a path
            "hash": meta.content_hash,
            "weights": meta.weights,
            "version": f"{meta.version[0]}.{meta.version[1]}",
        }
        self._grace_planes = False
        if colour.is_libjpeg_transform(meta.weights) and self.layers in (1, 3):
            # BT.601: libjpeg's own YCbCr->RGB (SIMD) is the inverse transform,
            # so the file decodes exactly as a plain JPEG, at the same speed.
            return
        if self.layers == 3 and self.mode == "RGB" and len(self.tile) == 1:
            # Ask libjpeg for the stored planes untouched (jpegmode "RGB": no
            # YCbCr->RGB step); load() applies the inverse G-YUV transform.
            tile = self.tile[0]
            self.tile = [tile._replace(args=("RGB", "RGB"))]
            self._grace_planes = True
        elif not (self.layers == 1 and self.mode == "L"):
            raise GraceFileError(
                f"GRACE file has {self.layers} components (mode {self.mode}, {len(self.tile)} tiles); "
                "GRACE writes 1 (luma) or 3 (G-YUV) components"
            )

    def draft(
        self, mode: str | None, size: tuple[int, int] | None
    ) -> tuple[str, tuple[int, int, float, float]] | None:
        """As for JPEG: DCT scaling to at least ``size``; mode "YCbCr" keeps
        the raw G-YUV planes, "L" gives the G-YUV luma (the DNN-weighted luma,
        not BT.601). Any other mode keeps the exact-RGB decode."""
        result = super().draft(mode, size)
        # JPEG tiles carry (rawmode, ...) as args; Pillow types args more loosely.
        if self._grace_planes and self.tile and cast(tuple[Any, ...], self.tile[0].args)[0] != "RGB":
            self._grace_planes = False  # JPEG's draft switched to raw YCbCr or L
        return result

    def load(self) -> Any:
        if not (self._grace_planes and self.tile):
            return super().load()
        pixels = None
        if self._im is None and colour.accelerated():
            # libjpeg writes the planes straight into a numpy buffer, which is
            # converted where it lies and becomes the image (docs/speed.md)
            pixels = _pixels.new_pixels(*self.size)
            self.im = _pixels.image_on(pixels, self.mode).im
        try:
            super().load()
        finally:
            # Once the tile is consumed self.im holds G-YUV planes, also when
            # decoding stopped early (truncated file): convert them, so that no
            # later access can see planes labelled as RGB.
            if self._grace_planes and not self.tile:
                self._grace_planes = False
                if pixels is not None:
                    colour.planes_to_rgb_in_place(pixels, self.grace.weights)
                else:
                    self.im = colour.planes_to_rgb(self._new(self.im), self.grace.weights).im
        return Image.Image.load(self)

    def __getstate__(self) -> list[Any]:
        return [*super().__getstate__(), self.grace]

    def __setstate__(self, state: list[Any]) -> None:
        # The pickled pixels are the decoded RGB (Image.__getstate__ loads).
        *base, meta = state
        super().__setstate__(base)
        self.grace = meta
        self._grace_planes = False


def _open_factory(fp: IO[bytes], filename: str | bytes | None = None) -> ImageFile.ImageFile:
    im = JpegImagePlugin.jpeg_factory(fp, filename)
    meta = metadata.find(im.applist)
    if meta is None:
        _check_not_damaged(fp)
        return im  # an ordinary JPEG (or MPO), exactly as Pillow opens it
    if type(im) is not JpegImagePlugin.JpegImageFile:
        raise GraceFileError(f"GRACE metadata in a {im.format} file; GRACE writes single JPEG images")
    return GraceImageFile.adopt(im, meta)


def _check_not_damaged(fp: IO[bytes]) -> None:
    """Refuse a JPEG whose headers hold the remains of a GRACE segment.

    Pillow's parser stops right after the start-of-scan header, so the bytes
    before the current position are exactly the headers it has read."""
    if metadata.looks_damaged(_header_bytes(fp)):
        raise GraceFileError(
            "file holds a damaged GRACE metadata segment (corrupt marker or identifier); "
            "refusing to decode it with the wrong colours. Image.open(fp, formats=['JPEG']) "
            "reads the raw planes as plain JPEG"
        )


def _header_bytes(fp: IO[bytes]) -> bytes:
    """The bytes from the start of ``fp`` to its current position (Pillow
    opens from offset 0), without disturbing it.

    A header longer than the read buffer, in a file Pillow opened itself
    (``Image.open(path)``), is read with one ``os.pread``: seeking the
    buffered reader back to 0 would throw away its buffer and cost three
    system calls, a measurable part of opening a JPEG with a large XMP or
    EXIF block. A short header is still in the buffer: seek and read."""
    end = fp.tell()
    if end > io.DEFAULT_BUFFER_SIZE and type(fp) is io.BufferedReader and type(fp.raw) is io.FileIO:
        try:
            data = os.pread(fp.fileno(), end, 0)
        except (OSError, AttributeError):
            data = b""
        if len(data) == end:
            return data
    fp.seek(0)
    header = fp.read(end)
    fp.seek(end)
    return header


def _accept(prefix: bytes) -> bool:
    return prefix.startswith(b"\xff\xd8\xff")


def _save(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    info = dict(im.encoderinfo)
    example = 'img.save(path, "GRACE", strategy="<name>")'
    strategy = codec.require_strategy(info.pop("strategy", None), example)
    codec.encode(im, fp, strategy, codec.EncodeOptions.from_mapping(info))


def _save_all(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    """Refuse ``save_all=True`` (and ``append_images``) with the reason.

    Pillow's JPEG writer has no multi-frame mode either (it fails with
    ``KeyError: 'JPEG'``). Without this handler Pillow fails the same way
    *before* its ``try``/``finally``, so the options stay in
    ``im.encoderinfo`` and the next ``im.save(f, "GRACE")`` silently reuses
    them; raising here lets Pillow restore them (and delete a file it
    created)."""
    frames = getattr(im, "n_frames", 1) + len(im.encoderinfo.get("append_images") or ())
    raise codec.EncodeOptionError(
        f"GRACE writes one image per JPEG file (as Pillow's JPEG writer), so save_all=True / "
        f"append_images cannot be honoured (this image has {frames} frame(s)); save each frame "
        'to its own file with img.save(path, "GRACE", strategy=...), after img.seek(i) for frame i'
    )


def register_grace_opener() -> None:
    """Register the GRACE save format and opener with Pillow (idempotent).

    ``import pillow_grace`` calls it, so importing is enough; adapters and
    applications that want the registration not to hang on an import side
    effect call it explicitly (as ``pillow_heif.register_heif_opener()``).
    The opener is placed just before Pillow's JPEG opener; see the module
    doc for why that costs ordinary JPEGs nothing."""
    Image.preinit()  # make sure JPEG is registered, so we can go in front of it
    Image.register_open(FORMAT, _open_factory, _accept)
    Image.register_save(FORMAT, _save)
    Image.register_save_all(FORMAT, _save_all)
    Image.register_mime(FORMAT, "image/jpeg")
    if FORMAT in Image.ID and "JPEG" in Image.ID:
        Image.ID.remove(FORMAT)
        Image.ID.insert(Image.ID.index("JPEG"), FORMAT)

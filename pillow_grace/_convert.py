"""``grace encode`` and ``grace decode``: one image file to another.

Both refuse, before reading the input, what would lose data or mislead: an
output that is the input file, a name whose extension says another format
(unless ``--force``), a name Pillow cannot write; both write the output all
or nothing (:mod:`pillow_grace.core._io`), so a full disk never leaves a
truncated file reported as written.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from typing import Any

from PIL import Image

from pillow_grace._terminal import printable
from pillow_grace.core._io import replace_file, write_all


class OutputRefused(ValueError):
    """An output the command will not write; reported as ``grace: error: ...``."""


def cmd_encode(args: argparse.Namespace) -> int:
    from pillow_grace.core.codec import encode

    to_stdout = args.output == "-"
    if to_stdout and sys.stdout.isatty():
        raise OutputRefused("standard output is a terminal, which would show the JPEG's bytes as text; "
                            "redirect it (grace encode IN - > out.jpg)")
    if not to_stdout:
        _refuse_own_input(args.input, args.output)
        fmt = _format_of(args.output)
        if fmt != "JPEG" and not args.force:
            raise OutputRefused(
                f"{args.output!r} names {'a ' + fmt if fmt else 'no image'} format, but grace encode writes "
                "JPEG; use a .jpg name, or --force to write JPEG bytes under this name anyway"
            )
    options: dict[str, Any] = {}
    if args.quality is not None:
        options["quality"] = args.quality
    if args.subsampling:
        options["subsampling"] = args.subsampling
    out = io.BytesIO()
    with Image.open(args.input) as im:
        im.load()
        encode(im, out, args.strategy, **options)
    if to_stdout:
        write_all(sys.stdout.buffer, out.getbuffer())
        return 0
    write_output(args.output, out)
    print(f"wrote {printable(args.output)} ({out.getbuffer().nbytes} bytes)")
    return 0


def cmd_decode(args: argparse.Namespace) -> int:
    import pillow_grace  # noqa: F401 - registers the GRACE opener

    _refuse_own_input(args.input, args.output)
    fmt = _format_of(args.output)
    if fmt is None or fmt not in Image.SAVE:
        what = f"Pillow cannot write {fmt}" if fmt else "cannot tell an image format from it"
        raise OutputRefused(f"{args.output!r}: {what}; end the name in .png, .bmp, .tif, ...")
    out = io.BytesIO()
    with Image.open(args.input) as im:
        kind = im.format
        im.load()
        rgb = im.convert("RGB") if im.mode not in ("RGB", "L") else im
        rgb.save(out, fmt)
    write_output(args.output, out)
    print(f"wrote {printable(args.output)} (decoded {kind})")
    return 0


def _refuse_own_input(source: str, target: str) -> None:
    """Refuse to write over the input file (also through a link): a failed or
    lossy conversion would replace the only copy."""
    try:
        same = os.path.samefile(source, target)
    except OSError:
        same = False  # the output does not exist yet (or the input is missing: reported on open)
    if same:
        raise OutputRefused(f"output {target!r} is the input file; write to another file name")


def _format_of(path: str) -> str | None:
    """The Pillow format a file name's extension stands for (``.jpg``: JPEG), if any."""
    return Image.registered_extensions().get(os.path.splitext(path)[1].lower())


def write_output(path: str, data: io.BytesIO) -> None:
    """Replace ``path`` with ``data``, all or nothing (see ``pillow_grace.core._io``)."""
    hint = "write to a regular file (grace encode: '-' for standard output)"
    replace_file(path, data.getbuffer(), in_place_hint=hint)

"""Ground-truth labels for classification: reading a labels file, matching it to the photos."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from pillow_grace.evaluate.photos import BenchImage


def read_labels(path: str | os.PathLike[str]) -> dict[str, int]:
    """Read a labels file: CSV lines ``filename,class_index``.

    ``filename`` is the file's name (or its path relative to ``--images``);
    ``class_index`` is the model's output index (0-based). Blank lines and
    lines starting with ``#`` are ignored; a first line whose first field is
    ``filename`` is a header."""
    labels: dict[str, int] = {}
    text = Path(path).read_text(encoding="utf-8")
    for n, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
            continue
        if len(row) != 2:
            raise ValueError(f"{path}:{n}: expected 'filename,class_index', got {','.join(row)!r}")
        name, idx = row[0].strip(), row[1].strip()
        if not labels and name.lower() in ("filename", "file", "name"):
            continue  # header
        if not idx.isdigit():
            raise ValueError(f"{path}:{n}: class_index must be a non-negative integer, got {idx!r}")
        if name in labels:
            raise ValueError(f"{path}:{n}: {name!r} is labelled twice")
        labels[name] = int(idx)
    if not labels:
        raise ValueError(f"{path}: no labels found (expected lines 'filename,class_index')")
    return labels


def labels_for(images: Sequence[BenchImage], labels: Mapping[str, int]) -> list[int]:
    """The label of each image, matched by file name or by the name after ``source:``.

    Every image must be labelled: a partial labels file would silently change
    which images the accuracy is measured on."""
    out: list[int] = []
    missing: list[str] = []
    for im in images:
        short = im.name.split(":", 1)[-1]
        for key in (im.name, short, Path(short).name):
            if key in labels:
                out.append(labels[key])
                break
        else:
            missing.append(im.name)
    if missing:
        raise ValueError(
            f"the labels file has no entry for {len(missing)} image(s): {', '.join(missing[:10])}"
            + (" ..." if len(missing) > 10 else "")
            + "; add them or remove those images from --images"
        )
    return out

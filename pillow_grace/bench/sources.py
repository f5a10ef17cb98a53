"""Named photo sets and where a strategy's probe photos may be found.

The library knows no photo collection of its own: ``--images DIR`` always
works, and names such as ``offline`` are registered by whoever has those photos,
with :func:`register_photo_set` (``name -> loader``). The repository's
``benchmarks/`` tooling registers the offline sample photos; run from a source
checkout, :func:`load_images` imports it when a name is not registered yet.
Installed without it, a name fails with a message that says to pass a folder.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote, urlparse

from pillow_grace.core.errors import GraceError
from pillow_grace.evaluate.photos import ImageSet, load_directory

PhotoLoader = Callable[[], ImageSet]
ProbeFileFinder = Callable[[], list[Path]]

#: The repository's tooling package, and the module of it that registers its photo sets.
TOOLING_PACKAGE = "benchmarks"
TOOLING_PHOTO_SETS = "benchmarks.photo_sets"

_sets: dict[str, PhotoLoader] = {}
_probe_finders: list[ProbeFileFinder] = []


class ToolingNotFound(GraceError, LookupError):
    """The repository's ``benchmarks/`` tooling is needed but this installation has none."""


def register_photo_set(name: str, loader: PhotoLoader) -> None:
    """Make ``--images NAME`` load the photos ``loader()`` returns (filtered, as an ImageSet)."""
    if not name or "," in name:
        raise ValueError(f"a photo set name must be non-empty and hold no comma, got {name!r}")
    _sets[name] = loader


def register_probe_files(finder: ProbeFileFinder) -> None:
    """Add a place to look for strategies' probe photos (``finder()`` lists candidate files)."""
    if finder not in _probe_finders:
        _probe_finders.append(finder)


def photo_sets() -> list[str]:
    """The names ``--images`` accepts besides a directory (registered so far)."""
    return sorted(_sets)


def load_images(spec: str) -> ImageSet:
    """Images named by a CLI value: a directory or a registered set name; several separated by commas."""
    out = ImageSet()
    for part in [p.strip() for p in spec.split(",") if p.strip()]:
        if part not in _sets and not Path(part).is_dir():
            _try_tooling()
        if part in _sets:
            out.extend(_sets[part]())
        elif Path(part).is_dir() or "/" in part or part.startswith("."):
            out.extend(load_directory(part))
        else:
            if photo_sets():
                raise ValueError(
                    f"--images {part!r}: neither a directory nor a photo set ({', '.join(photo_sets())})"
                )
            raise ToolingNotFound(
                f"--images {part!r}: not a directory, and named photo sets such as 'offline' come with "
                f"the repository's {TOOLING_PACKAGE}/ tooling, which this installation does not have: "
                "pass --images DIR, a folder of photos"
            )
    return out


def probe_candidate_files() -> list[Path]:
    """Files the registered finders list as possible probe photos (none without the tooling)."""
    _try_tooling()
    return [p for finder in _probe_finders for p in finder()]


def repo_tooling(module: str, needed_for: str) -> ModuleType:
    """Import ``benchmarks.<module>`` from the source checkout; :class:`ToolingNotFound` without one."""
    if not _try_tooling():
        raise ToolingNotFound(
            f"{needed_for} needs the repository's {TOOLING_PACKAGE}/ tooling, which this installation does "
            "not have: run it from a source checkout of pillow-grace"
        )
    return importlib.import_module(f"{TOOLING_PACKAGE}.{module}")


def checkout_root() -> Path | None:
    """The source checkout with a ``benchmarks/`` folder: the one this package was installed from
    in editable mode (``pip install -e``, recorded in its ``direct_url.json``), else the current
    directory if it is one; None when neither is."""
    roots = [Path.cwd()]
    try:
        info = json.loads(distribution("pillow-grace").read_text("direct_url.json") or "{}")
    except (PackageNotFoundError, ValueError):
        info = {}
    url = info.get("url", "")
    if info.get("dir_info", {}).get("editable") and url.startswith("file://"):
        roots.insert(0, Path(unquote(urlparse(url).path)))
    for root in roots:
        if (root / "pyproject.toml").is_file() and (root / TOOLING_PACKAGE / "__init__.py").is_file():
            return root
    return None


def _try_tooling() -> bool:
    """Import the tooling's photo sets (which register themselves); False when there is none."""
    if TOOLING_PHOTO_SETS in sys.modules:
        return True
    try:
        importlib.import_module(TOOLING_PHOTO_SETS)
        return True
    except ModuleNotFoundError as e:
        if e.name not in (TOOLING_PACKAGE, TOOLING_PHOTO_SETS):
            raise
    root = checkout_root()
    if root is None:
        return False
    sys.path.append(str(root))
    importlib.import_module(TOOLING_PHOTO_SETS)
    return True

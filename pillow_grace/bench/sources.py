"""Named photo sets and where a strategy's probe photos may be found.

The library knows no photo collection of its own: ``--images DIR`` always
works (a folder of your own frames), and names such as ``native720`` are
registered by whoever has those photos, with :func:`register_photo_set`
(``name -> loader``). Installed distributions register theirs through the
entry-point group ``pillow_grace.photo_sets`` (as strategies come through the
``pillow_grace`` group): each entry point names a callable that, called with
no arguments, registers its sets. The repository's sets are such a
distribution (``pip install -e benchmarks``, which ``scripts/setup.sh`` runs);
without one, a set name fails with a message that says what to pass.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

from pillow_grace.core.errors import GraceError
from pillow_grace.evaluate.photos import ImageSet, load_directory

PhotoLoader = Callable[[], ImageSet]
ProbeFileFinder = Callable[[], list[Path]]

#: Entry-point group of distributions that register photo sets.
ENTRY_POINT_GROUP = "pillow_grace.photo_sets"
#: How to install the repository's photo sets (named in messages).
REPOSITORY_SETS_HINT = (
    "from a source checkout of pillow-grace, `pip install -e benchmarks` (scripts/setup.sh does it) "
    "installs the repository's sets"
)

_sets: dict[str, PhotoLoader] = {}
_probe_finders: list[ProbeFileFinder] = []
_plugins_loaded = False


class PhotoSetNotFound(GraceError, ValueError):
    """A photo set name that no installed distribution registers."""


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
    """The names ``--images`` accepts besides a directory (registered here or by installed
    distributions)."""
    load_plugins()
    return sorted(_sets)


def load_plugins() -> None:
    """Call every ``pillow_grace.photo_sets`` entry point once (each registers its sets).

    A distribution that fails to register is reported as a warning: a broken
    photo-set plugin must not stop ``--images DIR``."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            register = ep.load()
            if callable(register):
                register()
        except Exception as e:  # a third party's import error of any kind
            where = ep.dist.name if ep.dist is not None else ep.value
            warnings.warn(f"photo sets of {where} ({ep.name} = {ep.value}) could not be registered: {e}",
                          RuntimeWarning, stacklevel=2)


def load_images(spec: str) -> ImageSet:
    """Images named by a CLI value: a directory or a registered set name; several separated by commas."""
    out = ImageSet()
    for part in [p.strip() for p in spec.split(",") if p.strip()]:
        if part in photo_sets():
            out.extend(_sets[part]())
        elif Path(part).is_dir() or "/" in part or part.startswith("."):
            out.extend(load_directory(part, curated=False))  # the user's own frames, greyscale too
        elif photo_sets():
            raise PhotoSetNotFound(
                f"--images {part!r}: neither a directory nor an installed photo set "
                f"({', '.join(photo_sets())}); pass --images DIR, a folder of your frames"
            )
        else:
            raise PhotoSetNotFound(
                f"--images {part!r}: not a directory, and no photo set is installed: pass --images DIR, "
                f"a folder of your frames ({REPOSITORY_SETS_HINT})"
            )
    return out


def probe_candidate_files() -> list[Path]:
    """Files the registered finders list as possible probe photos (none without a photo-set plugin)."""
    load_plugins()
    return [p for finder in _probe_finders for p in finder()]

"""Field checks for strategy data that may come from anywhere.

Every value of a strategy (read from an untrusted file, or built in Python by
the fitter or a test) passes through these checks, so both ways obey the same
rules; :mod:`.metadata` uses :func:`validate_weights` and :func:`is_content_hash`
for what it reads back from an image. Each check returns the value normalised (lists to tuples, numpy
numbers to Python ones) or raises :class:`StrategyError` naming the field by
its JSON path in the file format. The limits they enforce live here too, and
are re-exported by :mod:`.strategy`, where callers have always found them;
so do the keys each object of a file may hold (:func:`_section`).
"""

from __future__ import annotations

import itertools
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, TypeGuard

import numpy as np

from pillow_grace._version import __version__
from pillow_grace.core.errors import StrategyError

#: Smallest colour weight accepted. The inverse transform divides by Wg and
#: the chroma scales by (1 - W), so a tiny weight would amplify decode noise
#: by 1/W; 0.05 bounds that amplification at 20x.
MIN_WEIGHT = 0.05
#: Tolerance on Wr + Wg + Wb == 1.
WEIGHT_SUM_TOLERANCE = 1e-6
#: Largest value accepted for perception statistics and the allocation
#: parameter. Real values are many orders of magnitude smaller; the cap keeps
#: products such as lambda * E[g^2] * D far from float overflow.
MAX_VALUE = 1e30
#: Limits on the free-form provenance object: nesting depth, total number of
#: values, characters per string and per key. Generous for real use, small
#: enough that a hostile file cannot make the loader (or every encoded
#: image's hash computation) slow.
MAX_PROVENANCE_DEPTH = 8
MAX_PROVENANCE_ITEMS = 10_000
MAX_STRING = 4096
MAX_KEY = 128
#: Integers in provenance must be exactly representable in a double, so that
#: every JSON implementation reads the same number.
MAX_SAFE_INT = 2**53
#: Most anchors a quality calibration may hold (one per quality 1..100).
MAX_CALIBRATION_POINTS = 100
#: Smallest parameter of a calibration anchor. Outside its anchors the encoder
#: scales the nearest one by the predicted mapping's ratio; from a subnormal
#: anchor such as 1e-320 that product underflows to 0, a parameter no table
#: can be derived from. Real lambdas and budgets lie many orders above.
MIN_CALIBRATION_PARAMETER = 1e-30
#: Largest mean |DCT coefficient| (``perception.coef_abs_mean``): libjpeg's
#: orthonormal 8x8 DCT of level-shifted 8-bit samples (-128..127) is at most
#: 8 * 128 in magnitude. A larger scale is not a measurement, and at the
#: MAX_VALUE cap the Laplacian rate-distortion model overflows in numpy.
MAX_COEFFICIENT = 1024.0

# A strategy name: also its file name (<name>.json). Used with fullmatch:
# ``re.match`` with ``$`` would accept a trailing newline.
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
NAME_RULE = "1-128 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit"


class StrategyName(str):
    """A strategy name read from a file (the GRACE segment's ``strategy``, as
    ``Image.open(...).info["grace"]["strategy"]``).

    :func:`pillow_grace.load_strategy` looks such a name up by name only,
    never as a path, and refuses one that is not a plain name
    (:func:`is_plain_name`): a hostile file must not make a program that
    loads "the strategy that wrote this frame" open ``../../etc/passwd``."""

    __slots__ = ()


def is_plain_name(value: object) -> bool:
    """Whether ``value`` is a valid strategy name (see :data:`NAME_RULE`): the
    one rule for names, whether in a strategy or read from an image."""
    return isinstance(value, str) and _NAME_RE.fullmatch(value) is not None


def check_name(path: str, value: Any) -> str:
    """``value`` if it is a plain strategy name, else a :class:`StrategyError` naming ``path``."""
    if not is_plain_name(value):
        raise _bad(path, f"must be {NAME_RULE} (it is also the file name), got {_show(value)}")
    return str(value)


_HASH_RE = re.compile(r"sha256:[0-9a-f]{64}")


def is_content_hash(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a content hash as :attr:`Strategy.content_hash`
    writes it (``sha256:`` and 64 lowercase hex digits): the one rule, for a
    strategy file's ``content_hash`` and the ``hash`` of a GRACE segment."""
    return isinstance(value, str) and _HASH_RE.fullmatch(value) is not None


_VERSION_RE = re.compile(r"(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})")

# Keys each object of a v1.0 document may hold. A file of a newer 1.x minor
# version may add keys (minor versions only add optional fields); they are
# ignored. In a 1.0 file an unknown key is an error: it is almost always a
# typo ("wieghts") that would otherwise be silently dropped.
_KEYS: dict[str, frozenset[str]] = {
    "": frozenset(
        {"format", "version", "name", "task", "model", "colour", "quantization", "perception",
         "allocation", "probe", "provenance", "content_hash"}
    ),
    "model": frozenset({"description", "input_size"}),
    "colour": frozenset({"space", "weights"}),
    "quantization": frozenset({"tables", "subsampling"}),
    "perception": frozenset({"grad_abs_mean", "grad_sq_mean", "coef_abs_mean", "rate_distortion"}),
    "perception.rate_distortion": frozenset({"steps", "rate", "mse"}),
    "allocation": frozenset({"method", "parameter", "quality", "calibration", "reference_above"}),
    "probe": frozenset({"resolution"}),
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "": ("format", "version", "name", "task", "colour", "quantization"),
    "colour": ("weights",),
    "quantization": ("tables",),
    "perception": ("grad_abs_mean", "grad_sq_mean", "coef_abs_mean"),
    "perception.rate_distortion": ("steps", "rate", "mse"),
    "allocation": ("method", "parameter"),
}


def _bad(path: str, message: str) -> StrategyError:
    where = f"field {path!r}" if path else "the document"
    return StrategyError(f"{where} {message}", field=path)


def _is_int(x: Any) -> bool:
    return (isinstance(x, numbers.Integral) and not isinstance(x, bool)) or (
        isinstance(x, float) and x.is_integer()
    )


def _finite(path: str, x: Any, label: str, too_large: str) -> float:
    """``x`` as a finite float: a real number (not a bool) that fits a double.
    ``label`` starts each message (which item of the field), ``too_large``
    ends the one for an int too large for a double (the range it must lie in)."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise _bad(path, f"{label}must be a number, got {_show(x)}")
    try:
        f = float(x)
    except OverflowError:
        raise _bad(path, f"{label}is too large{too_large}") from None
    if not math.isfinite(f):
        raise _bad(path, f"{label}must be a finite number, got {f!r}")
    return f


def _real(path: str, x: Any, *, minimum: float | None = None, exclusive: bool = False,
          maximum: float = MAX_VALUE) -> float:
    """A finite real in range. Rejects bools, strings, NaN, Inf and huge ints."""
    f = _finite(path, x, "", f" (at most {maximum:g})")
    if minimum is not None and (f <= minimum if exclusive else f < minimum):
        raise _bad(path, f"must be {'>' if exclusive else '>='} {minimum:g}, got {f!r}")
    if f > maximum:
        raise _bad(path, f"must be at most {maximum:g}, got {f!r}")
    return f


def _int(path: str, x: Any, lo: int, hi: int) -> int:
    if not _is_int(x):
        raise _bad(path, f"must be an integer in {lo}..{hi}, got {_show(x)}")
    i = int(x)
    if not lo <= i <= hi:
        raise _bad(path, f"must be an integer in {lo}..{hi}, got {i}")
    return i


def _seq(path: str, x: Any, length: int, what: str) -> Sequence[Any]:
    """A list/tuple (or numpy array) of exactly ``length`` items. Strings are
    sequences too, but never what a field wants."""
    if not isinstance(x, (list, tuple)) and hasattr(x, "tolist") and getattr(x, "ndim", 0) >= 1:
        x = x.tolist()  # numpy array
    if not isinstance(x, (list, tuple)):
        raise _bad(path, f"must be a list of {length} {what}, got {_show(x)}")
    if len(x) != length:
        raise _bad(path, f"must be a list of {length} {what}, got {len(x)} items")
    return x


def _string(path: str, x: Any, max_len: int) -> str:
    if not isinstance(x, str):
        raise _bad(path, f"must be a string, got {_show(x)}")
    if len(x) > max_len:
        raise _bad(path, f"must be at most {max_len} characters, got {len(x)}")
    return x


def _choice(path: str, x: Any, choices: Sequence[str]) -> str:
    if not isinstance(x, str) or x not in choices:
        raise _bad(path, f"must be one of {', '.join(choices)}; got {_show(x)}")
    return x


def _size(path: str, x: Any) -> tuple[int, int] | None:
    if x is None:
        return None
    s = _seq(path, x, 2, "integers [width, height]")
    return (_int(f"{path}[0]", s[0], 1, 65535), _int(f"{path}[1]", s[1], 1, 65535))


def _tables(path: str, x: Any) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    rows = _seq(path, x, 3, "tables (Y, U, V)")
    out = []
    for i, t in enumerate(rows):
        t = _seq(f"{path}[{i}]", t, 64, "integers in natural (row-major) order")
        out.append(tuple(_int(f"{path}[{i}][{j}]", q, 1, 255) for j, q in enumerate(t)))
    return (out[0], out[1], out[2])


def _matrix(
    path: str, x: Any, maximum: float = MAX_VALUE
) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    rows = _seq(path, x, 3, "rows (Y, U, V) of 64 numbers")
    out = []
    for i, r in enumerate(rows):
        r = _seq(f"{path}[{i}]", r, 64, "numbers in natural (row-major) order")
        out.append(tuple(_real(f"{path}[{i}][{j}]", v, minimum=0.0, maximum=maximum)
                         for j, v in enumerate(r)))
    return (out[0], out[1], out[2])


def _grid(path: str, x: Any) -> tuple[int, ...]:
    """Quantizer steps: integers increasing strictly from 1 to 255."""
    what = "integers increasing strictly from 1 to 255"
    if not isinstance(x, (list, tuple)) and hasattr(x, "tolist") and getattr(x, "ndim", 0) == 1:
        x = x.tolist()
    if not isinstance(x, (list, tuple)) or not 2 <= len(x) <= 255:
        raise _bad(path, f"must be a list of 2..255 {what}, got {_show(x)}")
    grid = tuple(_int(f"{path}[{j}]", v, 1, 255) for j, v in enumerate(x))
    if grid[0] != 1 or grid[-1] != 255 or any(b <= a for a, b in itertools.pairwise(grid)):
        raise _bad(path, f"must be {what}, got {list(grid)[:4]}..{list(grid)[-2:]}")
    return grid


def _curves(path: str, x: Any, n: int) -> tuple[tuple[tuple[float, ...], ...], ...]:
    """3 channels x 64 bins x ``n`` finite numbers >= 0 (one per grid step).

    Some 24,000 numbers: a valid file is checked in bulk (plain floats or ints,
    in range), and only a failing one value by value, for the message that
    names the first bad entry."""
    fast = _curves_in_bulk(x, n)
    if fast is not None:
        return fast
    rows = _seq(path, x, 3, "channels (Y, U, V) of 64 bins")
    out = []
    for c, row in enumerate(rows):
        bins = _seq(f"{path}[{c}]", row, 64, "bins in natural (row-major) order")
        out.append(tuple(
            tuple(_real(f"{path}[{c}][{k}][{j}]", v, minimum=0.0)
                  for j, v in enumerate(_seq(f"{path}[{c}][{k}]", b, n, "numbers, one per step")))
            for k, b in enumerate(bins)
        ))
    return tuple(out)


def _curves_in_bulk(x: Any, n: int) -> tuple[tuple[tuple[float, ...], ...], ...] | None:
    """The curves as tuples of floats if every value is a plain int/float in 0..MAX_VALUE
    and the shape is 3 x 64 x n; else None (the caller then finds the bad entry)."""
    if hasattr(x, "tolist") and getattr(x, "ndim", 0) == 3:
        x = x.tolist()
    if not isinstance(x, (list, tuple)) or len(x) != 3:
        return None
    out = []
    for row in x:
        if not isinstance(row, (list, tuple)) or len(row) != 64:
            return None
        bins = []
        for b in row:
            if not isinstance(b, (list, tuple)) or len(b) != n \
                    or not all(type(v) is float or type(v) is int for v in b):
                return None
            try:
                bins.append(tuple(float(v) for v in b))
            except OverflowError:  # an int beyond float range: the slow path names it
                return None
        out.append(tuple(bins))
    flat = np.asarray(out, dtype=np.float64)
    if not (np.all(np.isfinite(flat)) and np.all(flat >= 0.0) and np.all(flat <= MAX_VALUE)):
        return None
    return tuple(out)


def validate_weights(weights: Any, *, field_name: str = "colour.weights") -> tuple[float, float, float]:
    """Check G-YUV weights: three finite numbers >= MIN_WEIGHT summing to 1.

    Used for strategies and for the weights read back from an image's
    metadata segment, which may be corrupt or hostile. Raises
    :class:`StrategyError` whose ``field`` is ``field_name``."""
    w = _seq(field_name, weights, 3, "numbers [Wr, Wg, Wb]")
    out = []
    for label, v in zip(("Wr", "Wg", "Wb"), w, strict=True):
        f = _finite(field_name, v, f"({label}) ", f"; weights lie in [{MIN_WEIGHT}, 1]")
        if f < MIN_WEIGHT:
            raise _bad(
                field_name,
                f"({label}) is {f!r}, below the minimum {MIN_WEIGHT}: a smaller weight would "
                f"amplify decoding noise beyond {1 / MIN_WEIGHT:g}x",
            )
        out.append(f)
    total = math.fsum(out)
    if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
        raise _bad(field_name, f"must sum to 1 (Wr + Wg + Wb), got {total!r}")
    return (out[0], out[1], out[2])


def _freeze(path: str, x: Any, depth: int, budget: list[int]) -> Any:
    """Deep-copy a JSON value into an immutable one, enforcing the provenance caps."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _bad("provenance", f"holds more than {MAX_PROVENANCE_ITEMS} values; keep it small")
    if depth > MAX_PROVENANCE_DEPTH:
        raise _bad(path, f"is nested more than {MAX_PROVENANCE_DEPTH} levels deep")
    if x is None or isinstance(x, bool):
        return x
    if isinstance(x, str):
        return _string(path, x, MAX_STRING)
    if isinstance(x, numbers.Integral):
        if abs(int(x)) > MAX_SAFE_INT:
            raise _bad(path, f"is an integer beyond +-2**53, not portable JSON: {_show(x)}")
        return int(x)
    if isinstance(x, numbers.Real):
        return _real(path, x, maximum=math.inf)
    if isinstance(x, Mapping):
        out = {}
        for k, v in x.items():
            if not isinstance(k, str) or len(k) > MAX_KEY:
                raise _bad(path, f"keys must be strings of at most {MAX_KEY} characters, got {_show(k)}")
            out[k] = _freeze(f"{path}.{k}", v, depth + 1, budget)
        return MappingProxyType(out)
    if isinstance(x, (list, tuple)):
        return tuple(_freeze(f"{path}[{i}]", v, depth + 1, budget) for i, v in enumerate(x))
    raise _bad(path, f"must hold only JSON values (object, array, string, number, bool, null), "
                     f"got {type(x).__name__}")


def _thaw(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {k: _thaw(v) for k, v in x.items()}
    if isinstance(x, tuple):
        return [_thaw(v) for v in x]
    return x


def _provenance(x: Any) -> Mapping[str, Any]:
    if x is None:
        x = {}
    if not isinstance(x, Mapping):
        raise _bad("provenance", f"must be a JSON object, got {_show(x)}")
    frozen = _freeze("provenance", x, 1, [MAX_PROVENANCE_ITEMS + 1])
    if "probe_images" in frozen:
        _int("provenance.probe_images", frozen["probe_images"], 0, MAX_SAFE_INT)
    for key, limit in (("date", 64), ("library_version", 64)):
        if key in frozen:
            _string(f"provenance.{key}", frozen[key], limit)
    return frozen


def _show(x: Any) -> str:
    text = repr(x) if not isinstance(x, (dict, list, tuple)) else type(x).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def _calibration(method: str, x: Any) -> tuple[tuple[int, float], ...]:
    """Validate quality anchors: 2..100 [quality, parameter] pairs, qualities
    strictly increasing, parameters monotone the way the method's tables
    tighten with quality (lambda up, budget down), so that a higher quality
    never gives larger steps."""
    path = "allocation.calibration"
    if method == "reference":
        raise _bad(path, 'must be absent for method "reference" (the quality is the JPEG quality)')
    if isinstance(x, (str, bytes)) or not isinstance(x, Sequence) \
            or not 2 <= len(x) <= MAX_CALIBRATION_POINTS:
        raise _bad(path, f"must be a list of 2..{MAX_CALIBRATION_POINTS} [quality, parameter] pairs, "
                         f"got {_show(x)}")
    out = []
    for i, pair in enumerate(x):
        q, p = _seq(f"{path}[{i}]", pair, 2, "numbers [quality, parameter]")
        out.append((_int(f"{path}[{i}][0]", q, 1, 100),
                    _real(f"{path}[{i}][1]", p, minimum=MIN_CALIBRATION_PARAMETER)))
    for i in range(1, len(out)):
        (q0, p0), (q1, p1) = out[i - 1], out[i]
        if q1 <= q0:
            raise _bad(f"{path}[{i}][0]", f"qualities must increase strictly; {q1} follows {q0}")
        lam = method != "paper"  # a Lagrange multiplier grows with quality; the paper's budget shrinks
        if (p1 < p0) if lam else (p1 > p0):
            trend = "increase" if lam else "decrease"
            raise _bad(f"{path}[{i}][1]",
                       f"parameters must {trend} with quality for method {method!r}; {p1!r} follows {p0!r}")
    return tuple(out)


def _version(value: Any, supported: tuple[int, int]) -> tuple[int, int]:
    """The ``version`` field "MAJOR.MINOR" as two ints; only the ``supported``
    major version is read (a newer minor one is, ignoring what it adds)."""
    if not isinstance(value, str) or not _VERSION_RE.fullmatch(value):
        raise _bad("version", f'must be a string "MAJOR.MINOR", e.g. "1.0", got {_show(value)}')
    major_s, minor_s = value.split(".")
    major, minor = int(major_s), int(minor_s)
    if major != supported[0]:
        raise _bad(
            "version",
            f"is {value}: format {major}.x is not supported by pillow-grace {__version__}, which "
            f"reads format {supported[0]}.x; "
            + ("upgrade pillow-grace to read it" if major > supported[0] else "re-fit the strategy"),
        )
    return (major, minor)


def _section(
    path: str, value: Any, *, optional: bool, strict: bool, version: tuple[int, int]
) -> dict[str, Any]:
    """The object at ``path`` ('' for the document) with its required keys;
    ``strict`` (a file of format ``version`` or older) also refuses unknown keys.
    ``optional``: absent or null reads as an empty object."""
    if value is None and optional:
        return {}
    if not isinstance(value, dict):
        raise _bad(path, f"must be a JSON object, got {_show(value)}")
    for key in _REQUIRED.get(path, ()):
        if key not in value:
            raise _bad(f"{path}.{key}" if path else key, "is required")
    if strict:
        for key in value:
            if key not in _KEYS[path]:
                known = ", ".join(sorted(_KEYS[path]))
                raise _bad(f"{path}.{key}" if path else key,
                           f"is not a v{version[0]}.{version[1]} field "
                           f"(typo?); known fields here: {known}")
    return value

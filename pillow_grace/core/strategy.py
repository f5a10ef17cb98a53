"""The GRACE strategy: the small, versioned set of numbers a device encodes with.

A strategy is what the offline fitter produces and what the online encoder
consumes (paper §3: "259 numbers"). It is stored as JSON, format v1, specified
in ``docs/strategy-format.md`` and ``pillow_grace/schema/strategy-v1.schema.json``.

Strategy files may come from anywhere (a package, a download, a colleague), so
loading one is treated like parsing untrusted input: the file is never
executed or unpickled, its size is capped, the JSON parser refuses NaN,
Infinity and duplicate keys, nesting and the free-form ``provenance`` object
are bounded, every field is type- and range-checked, and each error names the
field that is wrong (also as ``StrategyError.field``).

Validation lives in one place, :meth:`Strategy.__post_init__` (and the
``__post_init__`` of :class:`Perception` and :class:`Allocation`, in
:mod:`._parts` and re-exported here), so a
strategy built in Python (by the fitter, by a test) obeys exactly the same
rules as one read from a file. Field names in errors are the JSON paths of
the file format, whichever way the strategy was made. The checks of single
values and their limits are in :mod:`._fields`; strict JSON reading, the
canonical JSON of the content hash and the file layout in :mod:`._json`;
writing a file all or nothing in :mod:`._io`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

# The limits are defined beside the checks that enforce them and re-exported
# here, where callers import them from (``strategy.MIN_WEIGHT``).
from pillow_grace.core._fields import (
    MAX_CALIBRATION_POINTS,
    MAX_COEFFICIENT,
    MAX_KEY,
    MAX_PROVENANCE_DEPTH,
    MAX_PROVENANCE_ITEMS,
    MAX_SAFE_INT,
    MAX_STRING,
    MAX_VALUE,
    MIN_CALIBRATION_PARAMETER,
    MIN_WEIGHT,
    WEIGHT_SUM_TOLERANCE,
    _bad,
    _choice,
    _is_int,
    _provenance,
    _section,
    _seq,
    _show,
    _size,
    _string,
    _tables,
    _thaw,
    _version,
    check_name,
    is_content_hash,
    validate_weights,
)
from pillow_grace.core._io import replace_file
from pillow_grace.core._json import DuplicateKeyError, hash_body, loads_strict, pretty
from pillow_grace.core._parts import (
    ALLOCATIONS,
    FIT_ALLOCATIONS,
    LAMBDA_ALLOCATIONS,
    Allocation,
    Perception,
    RateDistortion,
)
from pillow_grace.core.errors import StrategyError

__all__ = [
    "ALLOCATIONS", "CHANNELS", "FIT_ALLOCATIONS", "FORMAT_ID", "FORMAT_VERSION", "LAMBDA_ALLOCATIONS",
    "MAX_CALIBRATION_POINTS", "MAX_COEFFICIENT",
    "MAX_FILE_BYTES", "MAX_KEY", "MAX_PROVENANCE_DEPTH", "MAX_PROVENANCE_ITEMS", "MAX_SAFE_INT", "MAX_STRING",
    "MAX_VALUE", "MIN_CALIBRATION_PARAMETER", "MIN_WEIGHT", "SUBSAMPLINGS", "SUBSAMPLING_FACTORS", "TASKS",
    "WEIGHT_SUM_TOLERANCE",
    "Allocation",
    "DuplicateKeyError", "Perception", "RateDistortion", "Strategy", "loads_strict", "validate_weights",
]

#: Major and minor version of the strategy file format written by this library.
FORMAT_VERSION = (1, 2)
#: Value of the ``format`` field: tells a strategy from any other JSON file.
FORMAT_ID = "grace-strategy"
#: Largest strategy file accepted, in bytes. A v1 file is about 20 KiB; one with the
#: measured rate-distortion curves of format 1.2 about 150 KiB.
MAX_FILE_BYTES = 1 << 20

TASKS = ("classification", "segmentation", "detection", "other")
SUBSAMPLINGS = ("4:4:4", "4:2:2", "4:2:0")
#: (horizontal, vertical) factors by which each subsampling shrinks the chroma planes.
SUBSAMPLING_FACTORS = {"4:4:4": (1, 1), "4:2:2": (2, 1), "4:2:0": (2, 2)}
CHANNELS = ("Y", "U", "V")



@dataclass(frozen=True)
class Strategy:
    """A validated GRACE strategy.

    Construct it with :meth:`load`, :meth:`from_json`, :meth:`from_dict`, the
    fitter, or directly (every argument is validated and normalised: lists
    become tuples, numpy numbers become Python ones). Instances are immutable,
    including ``provenance``, so they can be shared across threads and their
    :attr:`content_hash` never goes stale."""

    name: str
    task: str
    weights: tuple[float, float, float]
    """G-YUV colour weights (Wr, Wg, Wb), each >= MIN_WEIGHT, summing to 1."""
    tables: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]
    """Quantization tables for Y, U, V: 64 ints in 1..255, natural order."""
    subsampling: str = "4:4:4"
    perception: Perception | None = None
    allocation: Allocation | None = None
    description: str = ""
    """What the target model is (free text, at most 4096 characters)."""
    model_input_size: tuple[int, int] | None = None
    """(width, height) the model itself consumes."""
    probe_resolution: tuple[int, int] | None = None
    """(width, height) of the probe images: the capture resolution fitted for."""
    provenance: Mapping[str, Any] = field(default_factory=dict)
    """Facts about the fit: ``probe_images`` (int), ``date`` (ISO 8601),
    ``library_version``, and any other JSON (bounded, read-only)."""
    version: tuple[int, int] = FORMAT_VERSION
    """Strategy file format version this object is written as."""

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        put("name", check_name("name", self.name))
        put("task", _choice("task", self.task, TASKS))
        put("weights", validate_weights(self.weights, field_name="colour.weights"))
        put("tables", _tables("quantization.tables", self.tables))
        put("subsampling", _choice("quantization.subsampling", self.subsampling, SUBSAMPLINGS))
        if self.perception is not None and not isinstance(self.perception, Perception):
            raise _bad("perception", f"must be a Perception or None, got {_show(self.perception)}")
        if self.allocation is not None and not isinstance(self.allocation, Allocation):
            raise _bad("allocation", f"must be an Allocation or None, got {_show(self.allocation)}")
        put("description", _string("model.description", self.description, MAX_STRING))
        put("model_input_size", _size("model.input_size", self.model_input_size))
        put("probe_resolution", _size("probe.resolution", self.probe_resolution))
        put("provenance", _provenance(self.provenance))
        v = _seq("version", self.version, 2, "integers (major, minor)")
        if not (_is_int(v[0]) and _is_int(v[1])) or int(v[0]) != FORMAT_VERSION[0] or int(v[1]) < 0 \
                or int(v[1]) > FORMAT_VERSION[1]:
            raise _bad("version", f"must be ({FORMAT_VERSION[0]}, minor <= {FORMAT_VERSION[1]}), got {v!r}")
        put("version", (int(v[0]), int(v[1])))
        measured = self.perception is not None and self.perception.rate_distortion is not None
        if self.allocation is not None and self.allocation.method == "empirical" and not measured:
            raise _bad("perception.rate_distortion",
                       'is required by allocation method "empirical" (its tables are derived from it); '
                       'refit the strategy, or use method "lagrangian"')
        if measured and self.version < (1, 2):
            raise _bad("version", f"must be at least 1.2 for perception.rate_distortion, got {v!r}")
        a = self.allocation
        if a is not None and (a.calibration is not None or a.reference_above is not None) \
                and self.version < (1, 1):
            raise _bad("version", "must be at least 1.1 for allocation.calibration and "
                                  f"allocation.reference_above, got {v!r}; mark the file \"1.1\" or later")

    def __hash__(self) -> int:
        return hash(self.content_hash)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle (process pools, copy.deepcopy) through the validated JSON
        # form: the read-only provenance proxies cannot be pickled themselves.
        return (_from_pickle, (self.to_dict(),))

    # -- serialisation -------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON object of this strategy, ``content_hash`` included."""
        body = self._body()
        body["content_hash"] = self.content_hash
        return body

    def _body(self) -> dict[str, Any]:
        return {
            "format": FORMAT_ID,
            "version": f"{self.version[0]}.{self.version[1]}",
            "name": self.name,
            "task": self.task,
            "model": {
                "description": self.description,
                "input_size": list(self.model_input_size) if self.model_input_size else None,
            },
            "colour": {"space": "G-YUV", "weights": list(self.weights)},
            "quantization": {
                "tables": [list(t) for t in self.tables],
                "subsampling": self.subsampling,
            },
            "perception": self.perception.to_dict() if self.perception else None,
            "allocation": self.allocation.to_dict() if self.allocation else None,
            "probe": {
                "resolution": list(self.probe_resolution) if self.probe_resolution else None,
            },
            "provenance": _thaw(self.provenance),
        }

    @cached_property
    def content_hash(self) -> str:
        """``sha256:<hex>`` of the canonical JSON of every other field.

        Canonical JSON is ``json.dumps(body, sort_keys=True,
        separators=(",", ":"), ensure_ascii=True, allow_nan=False)`` of the
        document without ``content_hash``, as this library writes it (floats
        in Python's shortest round-trip form). Written into each encoded file,
        so a server can tell exactly which strategy (not just which name)
        produced a frame."""
        return hash_body(self._body())

    def to_json(self) -> str:
        """The file text: indented JSON with each 64-entry table or perception
        row laid out as an 8x8 block (natural order reads row by row)."""
        return pretty(self.to_dict(), 0) + "\n"

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the strategy as JSON, all or nothing: readers never see half a
        file, a full disk leaves the old file, a new file gets the umask's
        permissions (others on a shared ``GRACE_STRATEGY_PATH`` can read it),
        an existing one keeps its own (see :mod:`._io`)."""
        replace_file(path, self.to_json().encode("utf-8"))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Strategy:
        """Read and validate a strategy file. Never executes anything in it."""
        path = Path(path)
        try:
            # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
            # writer forever. Only a regular file is read, and only after its
            # size is known to be under the cap.
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except OSError as e:
            raise StrategyError(f"cannot read strategy file {str(path)!r}: {e.strerror or e}") from e
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise StrategyError(
                f"cannot read strategy file {str(path)!r}: not a regular file (a directory, FIFO or "
                "device); point to the .json file itself"
            )
        with os.fdopen(fd, "rb") as f:
            data = b"" if st.st_size > MAX_FILE_BYTES else f.read(MAX_FILE_BYTES + 1)
        if st.st_size > MAX_FILE_BYTES or len(data) > MAX_FILE_BYTES:
            raise StrategyError(
                f"strategy file {str(path)!r} is over the {MAX_FILE_BYTES}-byte cap; "
                "a v1 strategy is about 20 KiB, so this is not a strategy file",
                field="",
            )
        return cls.from_json(data, source=str(path))

    @classmethod
    def from_json(cls, data: bytes | str, *, source: str = "<string>") -> Strategy:
        """Parse and validate strategy JSON (bytes in UTF-8, or text)."""
        if len(data) > MAX_FILE_BYTES:
            raise StrategyError(f"{source}: strategy JSON is over the {MAX_FILE_BYTES}-byte cap", field="")
        try:
            obj = loads_strict(data)
        except RecursionError:
            raise StrategyError(f"{source}: JSON is nested too deeply", field="") from None
        except DuplicateKeyError as e:
            raise StrategyError(
                f"{source}: field {e.key!r} appears twice in one object; a strategy file must be unambiguous",
                field=e.key,
            ) from None
        except (ValueError, UnicodeDecodeError) as e:
            raise StrategyError(f"{source}: not valid JSON ({e})", field="") from None
        return cls.from_dict(obj, source=source)

    @classmethod
    def from_dict(cls, obj: Any, *, source: str = "<dict>") -> Strategy:
        """Validate a decoded JSON object and build a :class:`Strategy`.

        Raises :class:`StrategyError` naming the first bad field."""
        try:
            return cls._from_dict(obj)
        except StrategyError as e:
            raise StrategyError(f"{source}: {e}", field=e.field) from None

    @classmethod
    def _from_dict(cls, obj: Any) -> Strategy:
        if not isinstance(obj, dict):
            raise _bad("", f"must be a JSON object, got {_show(obj)}")
        if obj.get("format") != FORMAT_ID:
            raise _bad("format", f'must be "{FORMAT_ID}"; this is not a GRACE strategy file')
        version = _version(obj.get("version"), FORMAT_VERSION)
        strict = version <= FORMAT_VERSION

        def section(path: str, value: Any, *, optional: bool) -> dict[str, Any]:
            return _section(path, value, optional=optional, strict=strict, version=FORMAT_VERSION)

        top = section("", obj, optional=False)
        model = section("model", top.get("model"), optional=True)
        colour = section("colour", top["colour"], optional=False)
        if colour.get("space", "G-YUV") != "G-YUV":
            raise _bad("colour.space", f'must be "G-YUV", got {_show(colour.get("space"))}')
        quant = section("quantization", top["quantization"], optional=False)
        perception = None
        if top.get("perception") is not None:
            p = section("perception", top["perception"], optional=False)
            rd: Any = None  # a JSON object; Perception validates it into RateDistortion
            if p.get("rate_distortion") is not None:
                rd = section("perception.rate_distortion", p["rate_distortion"], optional=False)
            perception = Perception(p["grad_abs_mean"], p["grad_sq_mean"], p["coef_abs_mean"], rd)
        allocation = None
        if top.get("allocation") is not None:
            a = section("allocation", top["allocation"], optional=False)
            allocation = Allocation(a["method"], a["parameter"], a.get("quality"), a.get("calibration"),
                                    a.get("reference_above"))
        probe = section("probe", top.get("probe"), optional=True)
        stored = top.get("content_hash")
        if "content_hash" in top and not is_content_hash(stored):
            raise _bad("content_hash", f'must be "sha256:" and 64 lowercase hex digits, got {_show(stored)}')
        strategy = cls(
            name=top["name"],
            task=top["task"],
            weights=colour["weights"],
            tables=quant["tables"],
            subsampling=quant.get("subsampling", "4:4:4"),
            perception=perception,
            allocation=allocation,
            description=model.get("description", ""),
            model_input_size=model.get("input_size"),
            probe_resolution=probe.get("resolution"),
            provenance=top.get("provenance", {}),
            version=min(version, FORMAT_VERSION),
        )
        # A newer minor version may hold fields this library drops, so its hash
        # cannot be reproduced here; it is checked only for files we can read whole.
        if strict and stored is not None and stored != strategy.content_hash:
            raise _bad(
                "content_hash",
                "does not match the file's content (was it edited by hand?); remove the "
                "field, or load and re-save the strategy with Strategy.save() to recompute it",
            )
        return strategy

    @classmethod
    def validate(cls, source: Mapping[str, Any] | bytes | str | os.PathLike[str]) -> None:
        """Check a strategy without keeping it: raises :class:`StrategyError`
        naming the bad field, returns None if valid.

        ``source`` is a decoded JSON object (dict), JSON bytes, or a path
        (str or PathLike). For tools that vet files before publishing them
        (a CI check of a strategy repository, an upload form)."""
        if isinstance(source, Mapping):
            cls.from_dict(dict(source))
        elif isinstance(source, bytes):
            cls.from_json(source)
        else:
            cls.load(source)

    def with_tables(
        self, tables: Sequence[Sequence[int]], allocation: Allocation | None = None
    ) -> Strategy:
        """A copy with other tables (validated), e.g. re-derived for a quality."""
        return replace(self, tables=tables, allocation=allocation)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        w = ", ".join(f"{x:.3f}" for x in self.weights)
        return (
            f"<Strategy {self.name!r} task={self.task} weights=({w}) "
            f"subsampling={self.subsampling} {self.content_hash[:19]}>"
        )


def _from_pickle(doc: dict[str, Any]) -> Strategy:
    return Strategy.from_dict(doc, source="<pickle>")

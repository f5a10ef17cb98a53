"""The GRACE strategy: the small, versioned set of numbers a device encodes with.

A strategy is what the offline fitter produces and what the online encoder
consumes (paper §3: "259 numbers"). It is stored as JSON, format v1, specified
in ``docs/strategy-format.md`` and ``pillow_grace/schema/strategy-v1.schema.json``.

Strategy files may come from anywhere (a package, a download, a colleague), so
loading one is treated like parsing untrusted input: the file is never
executed or unpickled, its size is capped, every field is type- and
range-checked, and each error names the field that is wrong.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ._version import __version__
from .errors import StrategyError

#: Major and minor version of the strategy file format written by this library.
FORMAT_VERSION = (1, 0)
#: Largest strategy file accepted, in bytes. A v1 file is about 20 KiB.
MAX_FILE_BYTES = 1 << 20
#: Smallest colour weight accepted. The inverse transform divides by Wg and
#: the chroma scales by (1 - W), so a tiny weight would amplify decode noise
#: by 1/W; 0.05 bounds that amplification at 20x.
MIN_WEIGHT = 0.05
#: Tolerance on Wr + Wg + Wb == 1.
WEIGHT_SUM_TOLERANCE = 1e-6

TASKS = ("classification", "segmentation", "detection", "other")
SUBSAMPLINGS = ("4:4:4", "4:2:2", "4:2:0")
ALLOCATIONS = ("lagrangian", "paper")
CHANNELS = ("Y", "U", "V")


@dataclass(frozen=True)
class Perception:
    """The DNN's measured sensitivity, per G-YUV channel and 8x8 DCT frequency.

    Each array is 3 rows (Y, U, V) of 64 values in natural (row-major) order.
    Coefficients are in libjpeg's units: the orthonormal 8x8 DCT of samples in
    0..255 (level-shifted by 128), so a gradient is d(loss)/d(coefficient).

    Keeping these statistics, not just tables, is what lets an encoder derive
    tables for another quality without torch.
    """

    grad_abs_mean: tuple[tuple[float, ...], ...]
    """Mean |g| per bin: the paper's spectral sensitivity map (§4.3)."""
    grad_sq_mean: tuple[tuple[float, ...], ...]
    """Mean g^2 per bin: the diagonal of the Fisher information (sampled labels)."""
    coef_abs_mean: tuple[tuple[float, ...], ...]
    """Mean |coefficient| per bin: the scale b of a Laplacian model (§5.1)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "grad_abs_mean": [list(r) for r in self.grad_abs_mean],
            "grad_sq_mean": [list(r) for r in self.grad_sq_mean],
            "coef_abs_mean": [list(r) for r in self.coef_abs_mean],
        }


@dataclass(frozen=True)
class Allocation:
    """How the tables were allocated from the perception model.

    ``method`` is ``"lagrangian"`` (per-bin rate + lambda * Fisher-weighted
    distortion, see :mod:`pillow_grace.tables`) or ``"paper"`` (Algorithm 1 of
    the paper, loss budget B). ``parameter`` is lambda or B respectively;
    ``quality`` is the 1..100 quality it was derived from, if any.
    """

    method: str
    parameter: float
    quality: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "parameter": self.parameter, "quality": self.quality}


@dataclass(frozen=True)
class Strategy:
    """A validated GRACE strategy. Construct with :meth:`from_dict`, :meth:`load`
    or the fitter; instances are immutable so they can be shared across threads."""

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
    model_input_size: tuple[int, int] | None = None
    """(width, height) the model itself consumes."""
    probe_resolution: tuple[int, int] | None = None
    """(width, height) of the probe images: the capture resolution fitted for."""
    provenance: Mapping[str, Any] = field(default_factory=dict)
    """Free-form facts: probe image count, date, library version, loss, ..."""
    version: tuple[int, int] = FORMAT_VERSION

    # -- serialisation -------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON object of this strategy, ``content_hash`` included."""
        body = self._body()
        body["content_hash"] = _hash_body(body)
        return body

    def _body(self) -> dict[str, Any]:
        return {
            "format": "grace-strategy",
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
            "perception": self.perception.to_json() if self.perception else None,
            "allocation": self.allocation.to_json() if self.allocation else None,
            "probe": {
                "resolution": list(self.probe_resolution) if self.probe_resolution else None,
            },
            "provenance": dict(self.provenance),
        }

    @property
    def content_hash(self) -> str:
        """``sha256:<hex>`` of the canonical JSON of every other field.

        Written into each encoded file, so a server can tell exactly which
        strategy (not just which name) produced a frame."""
        return _hash_body(self._body())

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=False) + "\n"

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the strategy as JSON (atomically, so readers never see half a file)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Strategy:
        """Read and validate a strategy file. Never executes anything in it."""
        path = Path(path)
        try:
            size = path.stat().st_size
        except OSError as e:
            raise StrategyError(f"cannot read strategy file {str(path)!r}: {e.strerror}") from e
        if size > MAX_FILE_BYTES:
            raise StrategyError(
                f"strategy file {str(path)!r} is {size} bytes, over the {MAX_FILE_BYTES}-byte cap; "
                "a v1 strategy is about 20 KiB, so this is not a strategy file"
            )
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
        return cls.from_json(data, source=str(path))

    @classmethod
    def from_json(cls, data: bytes | str, *, source: str = "<string>") -> Strategy:
        if len(data) > MAX_FILE_BYTES:
            raise StrategyError(f"{source}: strategy JSON is over the {MAX_FILE_BYTES}-byte cap")
        try:
            obj = json.loads(data, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as e:
            raise StrategyError(f"{source}: not valid JSON ({e})") from e
        return cls.from_dict(obj, source=source)

    @classmethod
    def from_dict(cls, obj: Any, *, source: str = "<dict>") -> Strategy:
        """Validate a decoded JSON object and build a :class:`Strategy`.

        Raises :class:`StrategyError` naming the first bad field."""
        v = _Validator(source)
        if not isinstance(obj, dict):
            raise v.error("", "must be a JSON object")
        if obj.get("format") != "grace-strategy":
            raise v.error("format", 'must be "grace-strategy"; this is not a GRACE strategy file')
        version = _parse_version(v, obj.get("version"))
        name = v.name("name", obj.get("name"))
        task = v.choice("task", obj.get("task"), TASKS)
        model = v.obj("model", obj.get("model", {}), optional=True) or {}
        description = v.string("model.description", model.get("description", ""), 4096)
        input_size = v.size("model.input_size", model.get("input_size"))
        colour = v.obj("colour", obj.get("colour"))
        if colour.get("space", "G-YUV") != "G-YUV":
            raise v.error("colour.space", 'must be "G-YUV"')
        weights = validate_weights(colour.get("weights"), field_name=f"{source}: colour.weights")
        quant = v.obj("quantization", obj.get("quantization"))
        tables = v.tables("quantization.tables", quant.get("tables"))
        subsampling = v.choice(
            "quantization.subsampling", quant.get("subsampling", "4:4:4"), SUBSAMPLINGS
        )
        perception = None
        if obj.get("perception") is not None:
            p = v.obj("perception", obj["perception"])
            perception = Perception(
                grad_abs_mean=v.matrix("perception.grad_abs_mean", p.get("grad_abs_mean")),
                grad_sq_mean=v.matrix("perception.grad_sq_mean", p.get("grad_sq_mean")),
                coef_abs_mean=v.matrix("perception.coef_abs_mean", p.get("coef_abs_mean")),
            )
        allocation = None
        if obj.get("allocation") is not None:
            a = v.obj("allocation", obj["allocation"])
            method = v.choice("allocation.method", a.get("method"), ALLOCATIONS)
            param = v.positive("allocation.parameter", a.get("parameter"))
            quality = a.get("quality")
            if quality is not None and (
                not isinstance(quality, int) or isinstance(quality, bool) or not 1 <= quality <= 100
            ):
                raise v.error("allocation.quality", "must be null or an integer in 1..100")
            allocation = Allocation(method, param, quality)
        probe = v.obj("probe", obj.get("probe", {}), optional=True) or {}
        probe_resolution = v.size("probe.resolution", probe.get("resolution"))
        provenance = v.obj("provenance", obj.get("provenance", {}), optional=True) or {}
        strategy = cls(
            name=name,
            task=task,
            weights=weights,
            tables=tables,
            subsampling=subsampling,
            perception=perception,
            allocation=allocation,
            description=description,
            model_input_size=input_size,
            probe_resolution=probe_resolution,
            provenance=provenance,
            version=version,
        )
        stored = obj.get("content_hash")
        if stored is not None and stored != strategy.content_hash:
            raise v.error(
                "content_hash",
                "does not match the file's content (was it edited by hand?); "
                "remove the field or re-save the strategy with Strategy.save()",
            )
        return strategy

    def with_tables(
        self, tables: Sequence[Sequence[int]], allocation: Allocation | None = None
    ) -> Strategy:
        """A copy with other tables (validated), e.g. re-derived for a quality."""
        v = _Validator(self.name)
        return replace(self, tables=v.tables("tables", tables), allocation=allocation)

    def __repr__(self) -> str:
        w = ", ".join(f"{x:.3f}" for x in self.weights)
        return (
            f"<Strategy {self.name!r} task={self.task} weights=({w}) "
            f"subsampling={self.subsampling} {self.content_hash[:19]}>"
        )


def validate_weights(weights: Any, *, field_name: str = "weights") -> tuple[float, float, float]:
    """Check G-YUV weights: three finite numbers >= MIN_WEIGHT summing to 1.

    Used for strategy files and for the weights read back from an image's
    metadata segment, which may be corrupt or hostile."""
    if not isinstance(weights, (list, tuple)) or len(weights) != 3:
        raise StrategyError(f"{field_name}: must be a list of three numbers [Wr, Wg, Wb]")
    out = []
    for label, w in zip(("Wr", "Wg", "Wb"), weights, strict=True):
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w):
            raise StrategyError(f"{field_name}: {label} must be a finite number, got {w!r}")
        if w < MIN_WEIGHT:
            raise StrategyError(
                f"{field_name}: {label}={w!r} is below the minimum {MIN_WEIGHT}; "
                "a smaller weight would amplify decoding noise beyond 1/MIN_WEIGHT"
            )
        out.append(float(w))
    if abs(sum(out) - 1.0) > WEIGHT_SUM_TOLERANCE:
        raise StrategyError(f"{field_name}: Wr + Wg + Wb must be 1, got {sum(out)!r}")
    return (out[0], out[1], out[2])


def _hash_body(body: Mapping[str, Any]) -> str:
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return "sha256:" + hashlib.sha256(canon.encode("utf-8")).hexdigest()


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed in a strategy file")


def _parse_version(v: _Validator, value: Any) -> tuple[int, int]:
    if not isinstance(value, str) or value.count(".") != 1:
        raise v.error("version", 'must be a string "MAJOR.MINOR", e.g. "1.0"')
    major_s, minor_s = value.split(".")
    if not (major_s.isdigit() and minor_s.isdigit()):
        raise v.error("version", f'must be "MAJOR.MINOR", got {value!r}')
    major, minor = int(major_s), int(minor_s)
    if major != FORMAT_VERSION[0]:
        raise v.error(
            "version",
            f"format {major}.{minor} is not supported by pillow-grace {__version__}, "
            f"which reads format {FORMAT_VERSION[0]}.x; upgrade pillow-grace to read it",
        )
    return (major, minor)


class _Validator:
    """Field checks that raise a StrategyError naming the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, name: str, message: str) -> StrategyError:
        where = f"field {name!r}" if name else "top level"
        return StrategyError(f"{self.source}: {where} {message}")

    def obj(self, name: str, value: Any, optional: bool = False) -> dict[str, Any]:
        if value is None and optional:
            return {}
        if not isinstance(value, dict):
            raise self.error(name, "must be a JSON object")
        return value

    def string(self, name: str, value: Any, max_len: int) -> str:
        if not isinstance(value, str) or len(value) > max_len:
            raise self.error(name, f"must be a string of at most {max_len} characters")
        return value

    def name(self, name: str, value: Any) -> str:
        s = self.string(name, value, 128)
        ok = s and s[0].isalnum() and all(c.isalnum() or c in "-_." for c in s)
        if not ok or not s.isascii():
            raise self.error(
                name, f"must be 1-128 ASCII letters, digits, '-', '_' or '.', got {value!r}"
            )
        return s

    def choice(self, name: str, value: Any, choices: Sequence[str]) -> str:
        if value not in choices:
            raise self.error(name, f"must be one of {', '.join(choices)}; got {value!r}")
        return str(value)

    def positive(self, name: str, value: Any) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value <= 0
        ):
            raise self.error(name, f"must be a finite number > 0, got {value!r}")
        return float(value)

    def size(self, name: str, value: Any) -> tuple[int, int] | None:
        if value is None:
            return None
        if (
            not isinstance(value, (list, tuple))
            or len(value) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) and 0 < x <= 65535 for x in value)
        ):
            raise self.error(name, "must be null or [width, height] with integers in 1..65535")
        return (value[0], value[1])

    def tables(self, name: str, value: Any) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        if not isinstance(value, (list, tuple)) or len(value) != 3:
            raise self.error(name, "must hold three tables (Y, U, V)")
        out = []
        for i, t in enumerate(value):
            if not isinstance(t, (list, tuple)) or len(t) != 64:
                raise self.error(f"{name}[{i}]", "must be 64 integers in natural (row-major) order")
            for j, q in enumerate(t):
                if isinstance(q, bool) or not isinstance(q, int) or not 1 <= q <= 255:
                    raise self.error(
                        f"{name}[{i}][{j}]",
                        f"must be an integer in 1..255 (baseline JPEG), got {q!r}",
                    )
            out.append(tuple(int(q) for q in t))
        return (out[0], out[1], out[2])

    def matrix(self, name: str, value: Any) -> tuple[tuple[float, ...], ...]:
        if not isinstance(value, (list, tuple)) or len(value) != 3:
            raise self.error(name, "must hold three rows (Y, U, V) of 64 numbers")
        rows = []
        for i, row in enumerate(value):
            if not isinstance(row, (list, tuple)) or len(row) != 64:
                raise self.error(f"{name}[{i}]", "must be 64 numbers")
            for j, x in enumerate(row):
                if (
                    isinstance(x, bool)
                    or not isinstance(x, (int, float))
                    or not math.isfinite(x)
                    or x < 0
                ):
                    raise self.error(f"{name}[{i}][{j}]", f"must be a finite number >= 0, got {x!r}")
            rows.append(tuple(float(x) for x in row))
        return tuple(rows)

"""The parts of a strategy: the DNN's perception model and the table allocation.

:class:`Perception` (with its measured :class:`RateDistortion` curves) and
:class:`Allocation` are validated like every field of a strategy (by the
checks of :mod:`._fields`, errors naming the JSON path) and are re-exported
by :mod:`.strategy`, where callers import them from; the document that
holds them, :class:`~pillow_grace.core.strategy.Strategy`, is there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pillow_grace.core._fields import (
    MAX_COEFFICIENT,
    MAX_VALUE,
    _bad,
    _calibration,
    _choice,
    _curves,
    _grid,
    _int,
    _matrix,
    _real,
    _show,
)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

ALLOCATIONS = ("empirical", "lagrangian", "paper", "reference")
#: The allocations a fit can be asked for ("reference" is what a fit falls back to).
FIT_ALLOCATIONS = ("empirical", "lagrangian", "paper")
#: Allocations whose parameter is a Lagrange multiplier lambda (a higher quality, a larger
#: lambda); the paper's is a loss budget B (a higher quality, a smaller B).
LAMBDA_ALLOCATIONS = ("empirical", "lagrangian")


@dataclass(frozen=True)
class Perception:
    """The DNN's measured sensitivity, per G-YUV channel and 8x8 DCT frequency.

    Each array is 3 rows (Y, U, V) of 64 values in natural (row-major) order.
    Coefficients are in libjpeg's units: the orthonormal 8x8 DCT of samples in
    0..255 (level-shifted by 128), so a gradient is d(loss)/d(coefficient).

    Keeping these statistics, not just tables, is what lets an encoder derive
    tables for another quality without torch. Accepts any nested sequences
    (or numpy arrays); stores tuples of floats.
    """

    grad_abs_mean: tuple[tuple[float, ...], ...]
    """Mean |g| per bin: the paper's spectral sensitivity map (§4.3)."""
    grad_sq_mean: tuple[tuple[float, ...], ...]
    """Mean g^2 per bin: the diagonal of the Fisher information (sampled labels)."""
    coef_abs_mean: tuple[tuple[float, ...], ...]
    """Mean |coefficient| per bin: the scale b of a Laplacian model (§5.1)."""
    rate_distortion: RateDistortion | None = None
    """Measured rate and distortion of every bin at a grid of steps (format 1.2):
    what the ``"empirical"`` allocation derives its tables from."""

    if TYPE_CHECKING:
        # What the generated __init__ accepts (validated into tuples by __post_init__),
        # so that callers passing numpy arrays or a JSON object type-check.
        def __init__(
            self,
            grad_abs_mean: ArrayLike,
            grad_sq_mean: ArrayLike,
            coef_abs_mean: ArrayLike,
            rate_distortion: RateDistortion | Mapping[str, Any] | None = None,
        ) -> None: ...

    def __post_init__(self) -> None:
        for name in ("grad_abs_mean", "grad_sq_mean", "coef_abs_mean"):
            cap = MAX_COEFFICIENT if name == "coef_abs_mean" else MAX_VALUE
            object.__setattr__(self, name, _matrix(f"perception.{name}", getattr(self, name), cap))
        rd = self.rate_distortion
        if rd is not None and not isinstance(rd, RateDistortion):
            if not isinstance(rd, Mapping):
                raise _bad("perception.rate_distortion", f"must be a JSON object, got {_show(rd)}")
            rd = RateDistortion(rd.get("steps"), rd.get("rate"), rd.get("mse"))
            object.__setattr__(self, "rate_distortion", rd)

    def to_dict(self) -> dict[str, Any]:
        """The ``perception`` object of a strategy file, as plain lists."""
        out: dict[str, Any] = {
            "grad_abs_mean": [list(r) for r in self.grad_abs_mean],
            "grad_sq_mean": [list(r) for r in self.grad_sq_mean],
            "coef_abs_mean": [list(r) for r in self.coef_abs_mean],
        }
        if self.rate_distortion is not None:
            out["rate_distortion"] = self.rate_distortion.to_dict()
        return out


@dataclass(frozen=True)
class RateDistortion:
    """What quantizing each bin with each of a grid of steps measured on the probe images.

    ``steps``: increasing integers from 1 to 255. ``rate[c][k][j]``: the
    entropy, in bits per coefficient, of the quantized symbols round(s / step)
    of channel c (Y, U, V), bin k (natural order) at ``steps[j]``.
    ``mse[c][k][j]``: the mean squared quantization error of those
    coefficients, each block weighted by its own Fisher weight for that bin
    (the plain mean where the bin's Fisher weight is zero everywhere), so that
    ``grad_sq_mean[c][k] * mse[c][k][j]`` is the expected Fisher-weighted
    error: it keeps the correlation, block by block, between where the model
    looks and how large the coefficients are, which a Laplacian of pooled
    scale loses. Steps between grid points are interpolated linearly."""

    steps: tuple[int, ...]
    rate: tuple[tuple[tuple[float, ...], ...], ...]
    mse: tuple[tuple[tuple[float, ...], ...], ...]

    def __post_init__(self) -> None:
        path = "perception.rate_distortion"
        grid = _grid(f"{path}.steps", self.steps)
        object.__setattr__(self, "steps", grid)
        for name in ("rate", "mse"):
            object.__setattr__(self, name, _curves(f"{path}.{name}", getattr(self, name), len(grid)))

    def to_dict(self) -> dict[str, Any]:
        return {"steps": list(self.steps), "rate": [[list(b) for b in c] for c in self.rate],
                "mse": [[list(b) for b in c] for c in self.mse]}


@dataclass(frozen=True)
class Allocation:
    """How the tables were allocated from the perception model.

    ``method`` is ``"lagrangian"`` (per-bin rate + lambda * Fisher-weighted
    distortion, see :mod:`pillow_grace.core.tables`), ``"paper"`` (Algorithm 1 of
    the paper, loss budget B) or ``"reference"`` (libjpeg's standard tables:
    the fitter's fallback where the model's gradients did not beat JPEG on
    held-out probe images; ``parameter`` is then the JPEG quality).
    ``parameter`` is lambda, B or that quality; ``quality`` is the 1..100
    quality it was derived from, if any.

    ``reference_above`` (format 1.1): qualities above it are written as
    standard JPEG 4:4:4 (libjpeg's tables, no chroma subsampling), because
    the fitter measured that the strategy's own tables could not match
    standard JPEG 4:4:4's loss there with fewer bytes (typically a 4:2:0
    strategy near quality 100, where subsampling alone costs more than
    JPEG 4:4:4's quantization).

    ``calibration`` (format 1.1) holds ``(quality, parameter)`` anchors
    measured by the fitter: at each anchor quality, the parameter whose tables
    cost the model, on held-out probe images, the loss that standard JPEG
    4:4:4 at that quality costs it. Between anchors the encoder interpolates
    log(parameter) linearly in quality (see
    :func:`pillow_grace.core.tables.parameter_for_quality`); without it, the
    quality is matched on the perception model's *predicted* loss.
    """

    method: str
    parameter: float
    quality: int | None = None
    calibration: tuple[tuple[int, float], ...] | None = None
    reference_above: int | None = None

    def __post_init__(self) -> None:
        _choice("allocation.method", self.method, ALLOCATIONS)
        object.__setattr__(
            self, "parameter", _real("allocation.parameter", self.parameter, minimum=0.0, exclusive=True)
        )
        if self.method == "reference" and not 1 <= self.parameter <= 100:
            raise _bad("allocation.parameter",
                       f'is the JPEG quality for method "reference": 1..100, got {self.parameter!r}')
        if self.quality is not None:
            object.__setattr__(self, "quality", _int("allocation.quality", self.quality, 1, 100))
        if self.calibration is not None:
            object.__setattr__(self, "calibration", _calibration(self.method, self.calibration))
        if self.reference_above is not None:
            object.__setattr__(self, "reference_above",
                               _int("allocation.reference_above", self.reference_above, 1, 99))

    def to_dict(self) -> dict[str, Any]:
        """The ``allocation`` object of a strategy file."""
        out: dict[str, Any] = {"method": self.method, "parameter": self.parameter, "quality": self.quality}
        if self.calibration is not None:
            out["calibration"] = [[q, p] for q, p in self.calibration]
        if self.reference_above is not None:
            out["reference_above"] = self.reference_above
        return out

"""The arguments of :func:`~pillow_grace.fit.fitter.fit_strategy`: the model unwrapped and every
option checked, before the slow probe, with messages that name the argument."""

from __future__ import annotations

from typing import Any

import torch

from pillow_grace.core import tables as tables_mod
from pillow_grace.core.strategy import FIT_ALLOCATIONS, TASKS, Strategy
from pillow_grace.fit.blocks import geometry
from pillow_grace.fit.colourfit import MEDIANS
from pillow_grace.fit.labels import LOSS_KINDS


def resolve_model(
    model: Any, task: str | None, loss: Any, input_size: tuple[int, int] | None, description: str | None
) -> tuple[Any, str, Any, tuple[int, int] | None, str, str | None]:
    """Unwrap a ZooModel-like object; fill defaults from it."""
    module = model
    model_name = None
    if not isinstance(model, torch.nn.Module) and hasattr(model, "module"):
        module = model.module
        model_name = getattr(model, "name", None)
        task = task or getattr(model, "task", None)
        if input_size is None and getattr(model, "input_size", None) is not None:
            input_size = tuple(int(v) for v in model.input_size)  # type: ignore[assignment]
        if description is None:
            description = getattr(model, "description", None)
        if loss is None and task not in ("classification", "segmentation"):
            loss = getattr(model, "loss", None)
    if not callable(module):
        raise TypeError(f"model must be a torch callable (e.g. an nn.Module), got {type(module).__name__}")
    task = task or "classification"
    if loss is None:
        if task not in ("classification", "segmentation"):
            raise ValueError(
                f"task {task!r} needs loss=fn(output, clean_output) -> scalar tensor; "
                "the built-in 'sampled'/'argmax' losses exist for classification and segmentation"
            )
        loss = "sampled"
    if input_size is not None:
        input_size = (int(input_size[0]), int(input_size[1]))
    return module, task, loss, input_size, description or "", model_name


def check_options(name: str, task: str, loss: Any, allocation: str | None, quality: int | None,
                   tradeoff: float | None, subsampling: str, colour_median: str, label_samples: int) -> None:
    """Fail before the (slow) probe, with messages that name the argument."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    # The strategy validator is the single definition of a valid name.
    dummy = Strategy(name=name, task="other", weights=(0.299, 0.587, 0.114), tables=((1,) * 64,) * 3)
    Strategy.from_dict(dummy.to_dict(), source="fit_strategy(name=...)")
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    if isinstance(loss, str) and loss not in LOSS_KINDS:
        raise ValueError(f"loss must be one of {', '.join(LOSS_KINDS)} or a callable; got {loss!r}")
    if not isinstance(loss, str) and not callable(loss):
        raise TypeError(f"loss must be a string or a callable, got {type(loss).__name__}")
    if allocation is not None and allocation not in FIT_ALLOCATIONS:
        raise ValueError(f"allocation must be one of {', '.join(FIT_ALLOCATIONS)} (standard JPEG tables, "
                         f"\"reference\", are what a fit falls back to); got {allocation!r}")
    if quality is not None and tradeoff is not None:
        raise ValueError("give quality or tradeoff, not both")
    if quality is not None:
        tables_mod.validate_quality(quality)
    if subsampling != "auto":
        geometry(subsampling)
    if allocation == "reference":
        raise ValueError('allocation "reference" (standard JPEG tables) is the fitter\'s fallback, '
                         "not a fit; use lagrangian or paper")
    if colour_median not in MEDIANS:
        raise ValueError(f"colour_median must be one of {', '.join(MEDIANS)}; got {colour_median!r}")
    if isinstance(label_samples, bool) or not isinstance(label_samples, int) or label_samples < 1:
        raise ValueError(f"label_samples must be an integer >= 1, got {label_samples!r}")

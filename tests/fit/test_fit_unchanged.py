"""The fit's choices for the same inputs stay what they were before the evaluation engine was
shared with the bench (issue #17): tiny models fitted with validation, compared with the strategy
JSON the earlier code wrote (``data/fits-before-engine.json``; library, torch and Python versions,
date and run time left out). Integers and text must match exactly; measured floats to 1e-6."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
from grace_fit_models import Classifier, LowPass, Segmenter, images  # noqa: E402

from pillow_grace.fit import fit_strategy  # noqa: E402

BEFORE = json.loads((Path(__file__).parent / "data" / "fits-before-engine.json").read_text())
VOLATILE = ("library_version", "torch_version", "python_version", "date", "elapsed_s")


pytestmark = pytest.mark.slow  # fits three models end to end (the quick run skips it)


def custom(out: Any, clean: Any) -> Any:  # the name is recorded: "custom:custom"
    return ((out - clean) ** 2).mean()


FITS = {
    "cls": lambda: fit_strategy(Classifier(classes=10, seed=3), images(6, (64, 48), seed=5), name="g-cls"),
    "seg": lambda: fit_strategy(Segmenter(classes=3, seed=2), images(4, (48, 32), seed=7), name="g-seg",
                                task="segmentation"),
    "custom": lambda: fit_strategy(LowPass(cut=2, seed=1), images(4, (48, 48), seed=9), name="g-custom",
                                   task="other", loss=custom, subsampling="4:2:0"),
}


def differences(a: Any, b: Any, where: str = "") -> list[str]:
    """Where ``a`` and ``b`` differ: exactly for text, integers and structure, to 1e-6 for floats."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{where}: keys {sorted(set(a) ^ set(b))}"]
        return [d for k in a for d in differences(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: length {len(a)} != {len(b)}"]
        pairs = enumerate(zip(a, b, strict=True))
        return [d for i, (x, y) in pairs for d in differences(x, y, f"{where}[{i}]")]
    if isinstance(a, float) or isinstance(b, float):
        numbers = isinstance(a, (int, float)) and isinstance(b, (int, float))
        same = numbers and math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)
        return [] if same else [f"{where}: {a!r} != {b!r}"]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def test_the_comparison_can_fail() -> None:
    assert differences({"a": [1, 2.0]}, {"a": [1, 2.0 + 1e-9]}) == []
    assert differences({"a": [1, 2.0]}, {"a": [1, 2.1]}) == [".a[1]: 2.0 != 2.1"]
    assert differences({"a": "x"}, {"b": "x"}) == [": keys ['a', 'b']"]


@pytest.mark.parametrize("case", sorted(FITS))
def test_fit_choices_are_unchanged(case: str) -> None:
    torch.set_num_threads(1)
    now = FITS[case]().to_dict()
    now.pop("content_hash")
    for key in VOLATILE:
        now["provenance"].pop(key, None)
    assert now["provenance"]["selection"]["chosen"] == BEFORE[case]["provenance"]["selection"]["chosen"]
    found = differences(json.loads(json.dumps(now)), BEFORE[case])
    assert not found, "\n".join(found[:20])

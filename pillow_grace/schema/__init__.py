"""JSON Schema of the strategy file format (``strategy-v1.schema.json``).

The schema is for tools outside Python (editors, CI checks of strategy
repositories). :class:`pillow_grace.Strategy` is the reference validator: it
checks everything the schema does plus what JSON Schema cannot express (see
docs/strategy-format.md, "Validation").
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

STRATEGY_V1 = "strategy-v1.schema.json"


def strategy_schema() -> dict[str, Any]:
    """The strategy v1 JSON Schema (draft 2020-12) as a dict."""
    text = resources.files(__name__).joinpath(STRATEGY_V1).read_text(encoding="utf-8")
    return json.loads(text)

"""A pillow-grace plugin: contributes the strategy ``plugin-test``.

The entry point (group ``pillow_grace``) names this module; pillow-grace
registers it with pluggy and calls :func:`grace_strategies` when it looks a
name up.
"""

from __future__ import annotations

from pathlib import Path

import pillow_grace

STRATEGY_FILE = Path(__file__).with_name("plugin-test.json")


@pillow_grace.hookimpl
def grace_strategies() -> list[Path]:
    return [STRATEGY_FILE]

"""``python -m pillow_grace.bench``: the ``grace bench`` command without the ``grace`` front end."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())

"""``python -m pillow_grace.bench``: the ``grace bench`` command without the ``grace`` front end."""

from __future__ import annotations

import sys

from pillow_grace.bench.cli import main

sys.exit(main())

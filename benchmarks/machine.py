"""Where the numbers were measured: CPU model, cores, library versions."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or ""


def machine_info() -> dict[str, Any]:
    """Where the numbers were measured: CPU, cores, library versions."""
    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:  # pragma: no cover - the bench needs torch anyway
        pass
    from PIL import __version__ as pil_version
    from PIL import features

    from pillow_grace import __version__

    info.update(
        pillow=pil_version,
        libjpeg_turbo=features.version("libjpeg_turbo"),
        libwebp=features.version("webp"),
        pillow_grace=__version__,
    )
    try:
        from importlib.metadata import version

        info["pyjpegli"] = version("pyjpegli")
    except Exception:
        info["pyjpegli"] = None
    return info

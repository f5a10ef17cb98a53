"""What must work without torch: fingerprints, merge, show; and a clear message for fit."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_torch_free_parts_and_install_hint() -> None:
    code = textwrap.dedent("""
        import sys
        sys.modules["torch"] = None  # any "import torch" now fails
        import numpy as np
        import pillow_grace.fit as fit
        from pillow_grace import cli
        import pillow_grace.fit.render, pillow_grace.fit.merge, pillow_grace.fit.colourfit
        print(fit.image_fingerprint(np.zeros((2, 2, 3), np.uint8))[:8])
        try:
            fit.fit_strategy
        except ImportError as e:
            print("hint:", e)
        print("rc", cli.main(["fit", "--model", "m:f", "--images", ".", "--out", "x.json"]))
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "15ec7bf0"  # sha256 of 12 zero bytes
    assert "pip install 'pillow-grace[fit]'" in lines[1]
    assert lines[2] == "rc 1" and "grace fit needs torch" in r.stderr

"""Fitter tests run tiny models on tiny images: one torch thread is fastest, and
immune to spin-waiting when other jobs load the machine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="package")
def _one_torch_thread() -> Iterator[None]:
    try:
        import torch
    except ImportError:  # the tests that need torch skip themselves
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

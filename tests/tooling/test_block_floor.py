"""benchmarks/block_floor.py: the fixed cost of 8x8 blocks, on images made here."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from benchmarks.block_floor import blocks, jpeg_size


@pytest.mark.parametrize(
    ("size", "subsampling", "expected"),
    [
        ((1280, 720), "4:4:4", 3 * 160 * 90),
        ((1280, 720), "4:2:0", 80 * 45 * 6),  # 16x16 MCUs of 4 luma + 2 chroma blocks
        ((17, 9), "4:4:4", 3 * 3 * 2),  # partial blocks are padded to whole ones
        ((17, 9), "4:2:0", 2 * 1 * 6),
    ],
)
def test_block_counts_include_mcu_padding(size: tuple[int, int], subsampling: str, expected: int) -> None:
    assert blocks(size, subsampling) == expected


def test_coarser_tables_never_cost_more_and_the_floor_is_what_blocks_cost_alone() -> None:
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (64, 96, 3), dtype=np.uint8))
    fine = jpeg_size(image, np.ones((3, 64), dtype=np.int64), "4:4:4")
    dc_only = np.full((3, 64), 255, dtype=np.int64)
    dc_only[:, 0] = 1
    floor = jpeg_size(image, np.full((3, 64), 255, dtype=np.int64), "4:4:4")
    assert fine > jpeg_size(image, dc_only, "4:4:4") > floor
    # Noise at step 255 leaves every AC coefficient at zero: each block is a DC difference and an
    # end-of-block code, a few bits, plus the ~600-byte headers.
    assert floor < 700 + blocks(image.size, "4:4:4")

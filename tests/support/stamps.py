"""Reading the clock the drawn cameras put in the picture (robot/producer/timestamp.py)."""

from __future__ import annotations

import numpy as np

from robot.producer.timestamp import BLOCKS, CHECK_BITS, STRIP_HEIGHT, check_bits


def read_stamp(luma: np.ndarray) -> int | None:
    """The epoch ms in a frame's luminance (height, width), or None if the strip is unreadable."""
    width = luma.shape[1]
    block = width // BLOCKS
    row = luma[STRIP_HEIGHT // 2]
    word = 0
    for i in range(BLOCKS):
        word = (word << 1) | int(row[i * block + block // 2] >= 128)
    value = word >> CHECK_BITS
    return value if word & 0xF == check_bits(value) else None

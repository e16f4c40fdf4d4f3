"""A machine-readable clock in the picture, for measuring latency glass to glass.

The top ``STRIP_HEIGHT`` rows of a frame hold ``BLOCKS`` equal blocks, black (0) or white (1),
most significant first: 44 bits of the epoch milliseconds at which the frame was rendered,
then 4 check bits (the sum of the value's eleven nibbles, modulo 16). Blocks this large
survive H.264 and VP8 at any usable bitrate; a reader samples the middle of each block.
(The tests' readers, tests/support/stamps.py and the console's latency probe, read the same
layout; keep them in step.)
"""

from __future__ import annotations

import numpy as np

VALUE_BITS = 44
CHECK_BITS = 4
BLOCKS = VALUE_BITS + CHECK_BITS
STRIP_HEIGHT = 16


def check_bits(value: int) -> int:
    """The 4 check bits of ``value``: the sum of its eleven nibbles, modulo 16."""
    return sum((value >> shift) & 0xF for shift in range(0, VALUE_BITS, 4)) & 0xF


def _bits(value: int) -> list[int]:
    word = (value << CHECK_BITS) | check_bits(value)
    return [(word >> (BLOCKS - 1 - i)) & 1 for i in range(BLOCKS)]


def stamp(image: np.ndarray, epoch_ms: int) -> None:
    """Draw ``epoch_ms`` into the top rows of an RGB (height, width, 3) uint8 image."""
    if not 0 <= epoch_ms < 1 << VALUE_BITS:
        raise ValueError(f"epoch_ms {epoch_ms} does not fit in {VALUE_BITS} bits")
    width = image.shape[1]
    block = width // BLOCKS
    strip = image[:STRIP_HEIGHT]
    strip[:] = 0
    for i, bit in enumerate(_bits(epoch_ms)):
        if bit:
            strip[:, i * block : (i + 1) * block] = 255

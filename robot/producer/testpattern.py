"""The ``testpattern`` camera: colour bars with a moving bar, needing no camera at all.

Options: ``width``, ``height``, ``fps``; ``noise`` (true: the bottom quarter is new noise in
every frame, so that the encoder needs a camera's bitrate, not a flat picture's few dozen
kbit/s: for bandwidth tests).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from robot.producer.frames import RenderedTrack

BARS = np.array(
    [
        [192, 192, 192],
        [192, 192, 0],
        [0, 192, 192],
        [0, 192, 0],
        [192, 0, 192],
        [192, 0, 0],
        [0, 0, 192],
    ],
    np.uint8,
)


NOISE = np.random.default_rng()


def render(image: np.ndarray, now: float) -> None:
    width = image.shape[1]
    columns = np.arange(width) * len(BARS) // width
    image[:] = BARS[columns][np.newaxis]
    # One white bar sweeping across every two seconds shows that the picture is live.
    x = int((now % 2.0) / 2.0 * width)
    image[:, max(0, x - 8) : x + 8] = 255


def render_noisy(image: np.ndarray, now: float) -> None:
    render(image, now)
    band = image[image.shape[0] * 3 // 4 :]
    band[:] = NOISE.integers(96, 160, band.shape, np.uint8)


def create(options: dict[str, Any]) -> RenderedTrack:
    return RenderedTrack(
        render_noisy if options.get("noise") else render,
        options.get("width", 640),
        options.get("height", 480),
        options.get("fps", 30),
    )

"""The bitrate aiortc's own encoder is told for a viewer: steadier than the estimate, since
aiortc restarts its encoder, with a key frame, for each new one (robot/producer/feeds.py)."""

from __future__ import annotations

from robot.contracts.video import Bitrates
from robot.producer.feeds import SteadyBitrate

BOUNDS = Bitrates(500_000, 3_000_000, 1_000_000)


def steady() -> tuple[SteadyBitrate, list[float]]:
    now = [100.0]
    return SteadyBitrate(BOUNDS, clock=lambda: now[0]), now


def test_a_margin_below_the_estimate_within_the_bounds() -> None:
    video, _ = steady()
    assert video.estimate(1_000_000) == 850_000
    video, _ = steady()
    assert video.estimate(50_000_000) == BOUNDS.high
    video, _ = steady()
    assert video.estimate(10_000) == BOUNDS.low


def test_small_changes_keep_the_bitrate() -> None:
    video, now = steady()
    video.estimate(1_000_000)
    for bps in (900_000, 1_150_000, 850_000, 1_000_000):
        now[0] += 5
        assert video.estimate(bps) == 850_000


def test_down_at_once_up_only_after_a_while() -> None:
    video, now = steady()
    video.estimate(2_000_000)
    now[0] += 0.1
    assert video.estimate(1_000_000) == 850_000  # well below: at once
    now[0] += 0.1
    assert video.estimate(2_000_000) == 850_000  # well above, but just changed
    now[0] += SteadyBitrate.UP_AFTER_S
    assert video.estimate(2_000_000) == 1_700_000

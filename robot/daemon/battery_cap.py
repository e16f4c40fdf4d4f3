"""The battery's speed cap: on a critically low battery, forward motion at most a crawl.

A limiter stage after the ramp: it takes the wheel outputs and gives them back capped, saying
whether it held them back. Backing away and turning stay as asked: only the forward part of
the motion is held to ``crawl``, so a robot on its last charge can still creep to its dock.
"""

from __future__ import annotations

from robot.contracts.telemetry import LimitedBy

CRAWL = 0.15  # the fastest forward wheel output on a critical battery


class BatteryCap:
    """Caps forward motion while ``critical`` (which the health report sets from the gauge)."""

    limited_by = LimitedBy.BATTERY

    def __init__(self, crawl: float = CRAWL) -> None:
        self.crawl = crawl
        self.critical = False

    def limit(self, left: float, right: float) -> tuple[tuple[float, float], bool]:
        """The wheel outputs capped, and whether the cap held them back."""
        forward = (left + right) / 2
        if not self.critical or forward <= self.crawl:
            return (left, right), False
        turn = (right - left) / 2
        # The turn kept as asked, as far as the wheels' range allows beside the crawl.
        turn = max(-(1 - self.crawl), min(1 - self.crawl, turn))
        return (self.crawl - turn, self.crawl + turn), True

"""The battery's speed cap: on a critically low battery, forward motion at most a crawl.

A limiter stage (robot/daemon/limiters.py): backing away and turning stay as asked, only the
forward part of the motion is held to ``crawl``, so a robot on its last charge can still creep
to its dock.
"""

from __future__ import annotations

from robot.contracts.telemetry import LimitedBy
from robot.daemon.limiters import cap_forward
from robot.daemon.ramp import Wheels

CRAWL = 0.15  # the fastest forward wheel output on a critical battery


class BatteryCap:
    """Caps forward motion while ``critical`` (which the health report sets from the gauge)."""

    kind = LimitedBy.BATTERY

    def __init__(self, crawl: float = CRAWL) -> None:
        self.crawl = crawl
        self.critical = False

    def limit(self, wheels: Wheels) -> tuple[Wheels, bool]:
        """The wheel outputs capped, and whether the cap held them back."""
        if not self.critical:
            return wheels, False
        return cap_forward(wheels, self.crawl)

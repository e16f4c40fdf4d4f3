"""Speed that follows the link: the ``LINK_SPEED_LIMITS`` table, and the limiter stage that
applies it to the wheels from the measured round trip (robot/daemon/command_delay.py).

A row ``{"above_ms": 250, "max_speed": 0.5}`` caps the wheels at half speed while the round
trip is above 250 ms; the worst row that applies wins. A lost link stops the wheels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from robot.contracts.telemetry import LimitedBy
from robot.daemon.limiters import cap_speed
from robot.daemon.ramp import Wheels


@dataclass(frozen=True)
class LinkSpeedLimit:
    """One row of the table: above ``above_ms`` of round trip, at most ``max_speed`` (0..1)."""

    above_ms: float
    max_speed: float


@dataclass(frozen=True)
class LinkReading:
    """What the robot knows of the link now: its round trip (None before any was measured),
    and whether it is lost."""

    round_trip_ms: float | None
    lost: bool = False


def max_speed(table: Sequence[LinkSpeedLimit], reading: LinkReading) -> float:
    """The fastest the wheels may turn on this link: 0 when it is lost, else the smallest
    ``max_speed`` among the rows whose ``above_ms`` the round trip passes (1 when none)."""
    if reading.lost:
        return 0.0
    if reading.round_trip_ms is None:
        return 1.0
    caps = [row.max_speed for row in table if reading.round_trip_ms > row.above_ms]
    return min(caps, default=1.0)


class LinkLimiter:
    """The ``link`` stage: the wheels at most as fast as the link's table row allows."""

    kind = LimitedBy.LINK

    def __init__(self, table: Sequence[LinkSpeedLimit], link: Callable[[], LinkReading]) -> None:
        self.table = tuple(table)
        self._link = link

    def limit(self, wheels: Wheels) -> tuple[Wheels, bool]:
        return cap_speed(wheels, max_speed(self.table, self._link()))

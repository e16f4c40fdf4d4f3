"""The obstacle guard: the limiter stage that slows the robot down towards what its forward
distance sensor sees, and refuses to drive on into it. Backing away and turning stay allowed.

Between ``slow_m`` and ``stop_m`` the forward part of the motion is scaled down in proportion
to the room left, but never below a crawl, so that the robot arrives at ``stop_m`` in finite
time instead of creeping towards it for ever; inside ``stop_m`` it may not go forward at all.
A sensor that has said nothing for ``STALE_S`` counts as blind: forward is refused too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drivers.distance import DistanceSensor
from robot.contracts.ratelimit import LogBudget
from robot.contracts.telemetry import LimitedBy
from robot.daemon.limiters import cap_forward
from robot.daemon.ramp import Wheels

log = logging.getLogger(__name__)

CRAWL = 0.1  # the slowest forward output inside slow_m, short of stop_m
POLL_S = 0.05  # 20 readings a second while going forward: 2.5 cm at 0.5 m/s between two
IDLE_POLL_S = 0.2  # otherwise: fresh enough (STALE_S) for the first forward command
STALE_S = 0.5  # a reading this old is no reading: ten missed while going forward
FAILURE_LOG_S = 10.0  # at most one log line this often for a failing sensor


@dataclass(frozen=True)
class GuardSettings:
    """``OBSTACLE_GUARD`` as config.json gives it."""

    sensor: str  # a distance sensor's name (drivers/distance.py)
    options: dict[str, Any] = field(default_factory=dict)
    slow_m: float = 0.5
    stop_m: float = 0.2


class ObstacleGuard:
    kind = LimitedBy.OBSTACLE

    def __init__(
        self, slow_m: float, stop_m: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not 0 < stop_m < slow_m:
            raise ValueError(f"need 0 < stop_m < slow_m, not stop_m={stop_m}, slow_m={slow_m}")
        self.slow_m = slow_m
        self.stop_m = stop_m
        self._clock = clock
        self.distance_m: float | None = None  # None: nothing within the sensor's range
        self._read_at: float | None = None

    def reading(self, distance_m: float | None) -> None:
        """The sensor's latest reading (None: nothing in range)."""
        self.distance_m = distance_m
        self._read_at = self._clock()

    @property
    def blind(self) -> bool:
        return self._read_at is None or self._clock() - self._read_at > STALE_S

    def max_forward(self) -> float:
        """The fastest forward output allowed now."""
        if self.blind:
            return 0.0
        distance = self.distance_m
        if distance is None or distance >= self.slow_m:
            return 1.0
        if distance <= self.stop_m:
            return 0.0
        return max(CRAWL, (distance - self.stop_m) / (self.slow_m - self.stop_m))

    def limit(self, wheels: Wheels) -> tuple[Wheels, bool]:
        return cap_forward(wheels, self.max_forward())

    def report(self) -> dict[str, float | bool | None]:
        distance = None if self.distance_m is None else round(self.distance_m, 3)
        return {"distance_m": distance, "blind": self.blind}


async def watch(
    sensor: DistanceSensor,
    guard: ObstacleGuard,
    on_reading: Callable[[], None],
    going_forward: Callable[[], bool] = lambda: True,
) -> None:
    """Read ``sensor`` into ``guard`` until cancelled, off the event loop (a reading may block
    on its bus), every ``POLL_S`` while ``going_forward()`` and every ``IDLE_POLL_S`` while
    not; ``on_reading`` after each try, so the wheels follow at once, and a sensor that fails
    leaves the guard blind, which refuses forward."""
    failures = LogBudget(FAILURE_LOG_S)
    while True:
        try:
            # A read that hangs (a stuck bus) is given up on, so the guard turns blind.
            guard.reading(await asyncio.wait_for(asyncio.to_thread(sensor.distance_m), STALE_S))
        except Exception as exc:  # a loose wire, a bus error, a hang: said, and tried again
            held = failures.allow()
            if held is not None:
                log.warning("distance sensor failed: %s (%d more since)", exc, held)
        on_reading()
        await asyncio.sleep(POLL_S if going_forward() else IDLE_POLL_S)

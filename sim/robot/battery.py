"""The simulated battery: a pack that drains with the sim board's wheels' work, plus what the
computer draws, reported as a gauge would (``BATTERY: {"sensor": "sim", …}``).

Its ``options``: ``start_percent`` (100), ``idle_ma`` (the computer's draw, 600), ``motor_ma``
(one wheel at full output, 900).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

from robot.daemon.battery import CELL_CURVE, BatterySettings, reading
from sim.robot.board import SimMotors


def cell_voltage(percent: float) -> float:
    """A cell's resting voltage at ``percent``, along the curve the INA219 gauge reads back."""
    for (v0, p0), (v1, p1) in itertools.pairwise(CELL_CURVE):
        if percent <= p1:
            return v0 + (v1 - v0) * (max(percent, p0) - p0) / (p1 - p0)
    return CELL_CURVE[-1][0]


class SimBattery:
    def __init__(
        self,
        settings: BatterySettings,
        work: Callable[[float], float],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        options = settings.options or {}
        self.settings = settings
        self.work = work  # the wheels' output-seconds so far, at a monotonic time
        self.clock = clock
        self.idle_ma = float(options.get("idle_ma", 600))
        self.motor_ma = float(options.get("motor_ma", 900))
        self.charge_mah = settings.capacity_mah * float(options.get("start_percent", 100)) / 100
        self._then = clock()
        self._work = work(self._then)

    def read(self) -> dict[str, Any]:
        now = self.clock()
        hours = (now - self._then) / 3600
        work_hours = (self.work(now) - self._work) / 3600
        drawn_mah = self.idle_ma * hours + self.motor_ma * work_hours
        milliamps = drawn_mah / hours if hours > 0 else self.idle_ma
        self.charge_mah = max(0.0, self.charge_mah - drawn_mah)
        self._then, self._work = now, self.work(now)
        percent = 100 * self.charge_mah / self.settings.capacity_mah
        volts = cell_voltage(percent) * self.settings.cells
        return reading(self.settings, percent, volts, milliamps)


def create(settings: BatterySettings, driver: Any = None) -> SimBattery:
    """The battery of the sim board ``driver`` (without one, only the computer draws)."""
    if isinstance(driver, SimMotors):
        return SimBattery(settings, driver.robot.work)
    return SimBattery(settings, lambda now: 0.0)

"""The health report: every ``HEALTH_INTERVAL_MS`` the computer's figures, the battery's and
the control link's round trip (robot/daemon/command_delay.py), as ``{"type": "health", …}`` on
the telemetry topic. It runs as a task of its own; the sources' reads (files, programs, I2C)
run in a worker thread, so the command path never waits for them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from robot.contracts.telemetry import health_message
from robot.daemon.battery import BatteryLevel, Gauge
from robot.daemon.battery_cap import BatteryCap
from robot.daemon.command_delay import CommandDelay
from robot.daemon.health import HealthSource

log = logging.getLogger(__name__)


class HealthReport:
    def __init__(
        self,
        source: HealthSource | None,
        gauge: Gauge | None,
        cap: BatteryCap,
        link: CommandDelay,
        send: Callable[[dict[str, Any]], None],
    ) -> None:
        self.source = source
        self.gauge = gauge
        self.cap = cap
        self.link = link
        self.send = send
        self.level: BatteryLevel | None = None

    def collect(self) -> dict[str, Any]:
        """Every figure (blocking: run in a thread). A source that fails reports its error."""
        figures: dict[str, Any] = {}
        if self.source is not None:
            try:
                figures.update(self.source.read())
            except Exception as exc:
                figures["error"] = f"{type(exc).__name__}: {exc}"
        if self.gauge is not None:
            try:
                figures["battery"] = self.gauge.read()
            except Exception as exc:  # a loose wire: no reading, and say so
                figures["battery"] = {"error": f"{type(exc).__name__}: {exc}"}
        return figures

    async def once(self) -> dict[str, Any]:
        figures = await asyncio.to_thread(self.collect)
        self._battery(figures.get("battery"))
        round_trip = self.link.round_trip_ms()
        link = {"round_trip_ms": None if round_trip is None else round(round_trip, 1)}
        message = health_message({**figures, "control_link": link})
        self.send(message)
        return message

    def _battery(self, battery: dict[str, Any] | None) -> None:
        level = None if battery is None else battery.get("level")
        self.cap.critical = level is BatteryLevel.CRITICAL
        if level != self.level and level in (BatteryLevel.LOW, BatteryLevel.CRITICAL):
            assert battery is not None
            log.warning("battery %s: %s %%", level, battery["percent"])
        self.level = level

    async def run(self, interval_s: float) -> None:
        while True:
            await self.once()
            await asyncio.sleep(interval_s)

"""The battery gauge: an INA219 (bus voltage and current) or a MAX17048 (fuel gauge) on I2C,
read through Adafruit's CircuitPython libraries (the ``battery`` extra), as percentage, voltage,
current, minutes left and a level (ok, low, critical).

``BATTERY`` in config.json says which sensor, how many cells in series and their capacity
(docs/config.md). Gauges are entry points of BATTERY_GROUP by sensor name; the simulator adds
its own (sim/robot/battery.py). Reads are blocking I2C transfers: the daemon reads off its loop.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from enum import StrEnum
from importlib.metadata import entry_points
from typing import Any, Protocol

BATTERY_GROUP = "telepresence_robot.batteries"

# A typical Li-ion/LiPo cell's resting voltage against its charge (V, %): what an INA219,
# which measures only volts and amps, turns into a percentage.
CELL_CURVE = (
    (3.00, 0.0),
    (3.30, 5.0),
    (3.60, 20.0),
    (3.70, 40.0),
    (3.80, 60.0),
    (3.90, 75.0),
    (4.00, 85.0),
    (4.10, 95.0),
    (4.20, 100.0),
)
DRAINING_MA = 1.0  # below this the pack is charging or idle: no estimate of minutes left


class BatteryLevel(StrEnum):
    OK = "ok"
    LOW = "low"  # the console and telemetry warn
    CRITICAL = "critical"  # forward motion is held to a crawl (robot/daemon/battery_cap.py)


@dataclass(frozen=True)
class BatterySettings:
    """config.json's ``BATTERY``: the sensor, the pack and the levels that warn and limit."""

    sensor: str
    cells: int = 1
    capacity_mah: float = 2000.0
    low_percent: float = 20.0
    critical_percent: float = 10.0
    address: int | None = None  # the sensor's I2C address, if not its default
    options: dict[str, Any] | None = None  # a simulated sensor's own settings

    def level(self, percent: float) -> BatteryLevel:
        if percent <= self.critical_percent:
            return BatteryLevel.CRITICAL
        if percent <= self.low_percent:
            return BatteryLevel.LOW
        return BatteryLevel.OK


# key -> (type, low, high): the BATTERY object's keys besides "sensor"
FIELDS = {
    "cells": (int, 1, 12),
    "capacity_mah": ((int, float), 10, 1_000_000),
    "low_percent": ((int, float), 1, 99),
    "critical_percent": ((int, float), 0, 98),
    "address": (int, 0x03, 0x77),
}


def sensor_names() -> list[str]:
    return sorted(entry.name for entry in entry_points(group=BATTERY_GROUP))


def battery_settings(value: Any) -> tuple[BatterySettings | None, list[str]]:
    """``BATTERY``'s value checked: the settings (None when there is no battery gauge) and
    every problem, each naming its key, the value and the fix."""
    if value == {}:
        return None, []
    names = sensor_names()
    example = '{"sensor": "ina219", "cells": 3, "capacity_mah": 2200}'
    if not isinstance(value, dict):
        return None, [f"BATTERY = {value!r}: must be a JSON object, e.g. {example}"]
    problems = []
    sensor = value.get("sensor")
    if sensor not in names:
        problems.append(f"BATTERY.sensor = {sensor!r}: must be one of {', '.join(names)}")
    known = {"sensor", "options", *FIELDS}
    for key in sorted(set(value) - known):
        problems.append(f"BATTERY.{key}: unknown key; known keys: {', '.join(sorted(known))}")
    checked: dict[str, Any] = {}
    for key, (kind, low, high) in FIELDS.items():
        if key not in value:
            continue
        given = value[key]
        if isinstance(given, bool) or not isinstance(given, kind) or not low <= given <= high:
            problems.append(f"BATTERY.{key} = {given!r}: must be a number from {low} to {high}")
        else:
            checked[key] = given
    options = value.get("options", {})
    if not isinstance(options, dict):
        problems.append(f"BATTERY.options = {options!r}: must be a JSON object")
    settings = BatterySettings(sensor=str(sensor), options=dict(options or {}), **checked)
    if settings.critical_percent >= settings.low_percent:
        problems.append(
            f"BATTERY.critical_percent = {settings.critical_percent:g}: must be below "
            f"low_percent ({settings.low_percent:g})"
        )
    return (None if problems else settings), problems


def percent_of_cell(volts: float) -> float:
    """A cell's charge from its resting voltage, along CELL_CURVE."""
    voltages = [point[0] for point in CELL_CURVE]
    if volts <= voltages[0]:
        return 0.0
    if volts >= voltages[-1]:
        return 100.0
    upper = bisect.bisect_right(voltages, volts)
    (v0, p0), (v1, p1) = CELL_CURVE[upper - 1], CELL_CURVE[upper]
    return p0 + (p1 - p0) * (volts - v0) / (v1 - v0)


def reading(
    settings: BatterySettings, percent: float, volts: float, milliamps: float | None
) -> dict[str, Any]:
    """A battery report: ``current_ma`` positive while it discharges."""
    minutes = None
    if milliamps is not None and milliamps > DRAINING_MA:
        minutes = round(settings.capacity_mah * percent / 100 / milliamps * 60, 1)
    return {
        "sensor": settings.sensor,
        "percent": round(percent, 1),
        "voltage": round(volts, 3),
        "current_ma": None if milliamps is None else round(milliamps, 1),
        "minutes_left": minutes,
        "level": settings.level(percent),
    }


class Gauge(Protocol):
    """A battery gauge: ``read()`` gives :func:`reading`'s report."""

    def read(self) -> dict[str, Any]: ...


def _board_i2c() -> Any:
    import board  # Blinka: the Pi's I2C pins
    import busio

    return busio.I2C(board.SCL, board.SDA)


class INA219Gauge:
    """An INA219 on the battery's lead: volts and amps, the charge from the cell curve."""

    def __init__(self, settings: BatterySettings, i2c: Any = None) -> None:
        from adafruit_ina219 import INA219

        self.settings = settings
        bus = i2c if i2c is not None else _board_i2c()
        self.chip = INA219(bus, settings.address or 0x40)

    def read(self) -> dict[str, Any]:
        volts = self.chip.bus_voltage + self.chip.shunt_voltage  # at the battery's terminal
        percent = percent_of_cell(volts / self.settings.cells)
        return reading(self.settings, percent, volts, self.chip.current)


class MAX17048Gauge:
    """A MAX17048 fuel gauge: its own state of charge and charge rate (%/h), from which the
    current follows by the pack's capacity."""

    def __init__(self, settings: BatterySettings, i2c: Any = None) -> None:
        from adafruit_max1704x import MAX17048

        self.settings = settings
        bus = i2c if i2c is not None else _board_i2c()
        self.chip = MAX17048(bus, settings.address or 0x36)

    def read(self) -> dict[str, Any]:
        percent = min(100.0, self.chip.cell_percent)
        rate = self.chip.charge_rate  # % per hour, negative while discharging
        milliamps = -rate / 100 * self.settings.capacity_mah
        volts = self.chip.cell_voltage * self.settings.cells
        return reading(self.settings, percent, volts, milliamps)


def open_gauge(settings: BatterySettings, driver: Any) -> Gauge:
    """The gauge of ``settings.sensor``; ``driver`` is the motor board (a simulated battery
    drains with its wheels)."""
    (entry,) = entry_points(group=BATTERY_GROUP, name=settings.sensor)
    return entry.load()(settings, driver=driver)


class OpenedOnRead:
    """The gauge of ``settings``, opened at its first read and again at each read after an
    open failed: a sensor that does not answer (a loose wire) is reported, and never keeps
    the robot from starting."""

    def __init__(self, settings: BatterySettings, driver: Any) -> None:
        self.settings = settings
        self.driver = driver
        self.gauge: Gauge | None = None

    def read(self) -> dict[str, Any]:
        if self.gauge is None:
            self.gauge = open_gauge(self.settings, self.driver)
        return self.gauge.read()


def create_ina219(settings: BatterySettings, driver: Any = None) -> INA219Gauge:
    return INA219Gauge(settings)


def create_max17048(settings: BatterySettings, driver: Any = None) -> MAX17048Gauge:
    return MAX17048Gauge(settings)

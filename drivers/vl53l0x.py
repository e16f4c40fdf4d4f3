"""The ``vl53l0x`` distance sensor: ST's VL53L0X time-of-flight ranger on I2C (address 0x29),
through Adafruit's CircuitPython library, which takes any busio-shaped I2C object (so it runs
against simulated silicon in the tests, as the Motor HAT does).

The chip ranges back to back (continuous mode, a range every ~33 ms at the library's default
timing budget): a reading takes the latest range when one is ready and otherwise keeps the
last, so it never waits in the library's busy loop. The chip answers 8190 mm or more when
nothing returns the light: nothing in range.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drivers.adafruit import pi_i2c_bus
from drivers.base import DriverError, import_library
from drivers.distance import DistanceSensor, SensorKind
from drivers.options import BoardOptions, Option, Requirement

PREFIX = "OBSTACLE_GUARD.options"
DEFAULT_ADDRESS = 0x29
OUT_OF_RANGE_MM = 8190  # the chip's "no target" readings: 8190 and 8191
WHO = 'distance sensor "vl53l0x"'


class VL53L0X(DistanceSensor):
    def __init__(self, sensor: Any, max_m: float) -> None:
        self._sensor = sensor
        self.max_m = max_m
        sensor.start_continuous()
        self._millimetres = sensor.range  # the first range: waits for it, once

    def distance_m(self) -> float | None:
        if self._sensor.data_ready:
            self._millimetres = self._sensor.range
        if self._millimetres >= OUT_OF_RANGE_MM or self._millimetres / 1000 > self.max_m:
            return None
        return self._millimetres / 1000

    def close(self) -> None:
        self._sensor.stop_continuous()


def _settings(options: Mapping[str, Any]) -> dict[str, Any]:
    opts = BoardOptions("vl53l0x", dict(options), PREFIX)
    value = opts.get("i2c_address", f"0x{DEFAULT_ADDRESS:02x}", (int, str))
    try:
        address = int(value, 0) if isinstance(value, str) else value
    except ValueError:
        address = -1
    if not 0x08 <= address <= 0x77:
        opts.fail("i2c_address", value, 'must be an I2C address, e.g. "0x29" (the default)')
    max_m = opts.get("max_m", 1.2, (int, float))
    if not 0 < max_m <= 2:
        opts.fail("max_m", max_m, "must be from 0 (excluded) to 2 metres, the chip's reach")
    opts.done()
    return {"address": address, "max_m": float(max_m)}


def check_options(options: Mapping[str, Any]) -> None:
    _settings(options)


def create(options: Mapping[str, Any], i2c: Any = None) -> VL53L0X:
    """The sensor; ``i2c`` is a busio.I2C-shaped bus (the Pi's I2C bus 1 if None)."""
    settings = _settings(options)
    library = import_library(
        "vl53l0x", "adafruit_vl53l0x", "pip install 'telepresence-robot[obstacle]'"
    )
    if i2c is None:
        i2c = pi_i2c_bus(WHO)
    try:
        sensor = library.VL53L0X(i2c, address=settings["address"], io_timeout_s=0.5)
    except (OSError, ValueError, RuntimeError) as exc:
        raise DriverError(
            f"{WHO}: no VL53L0X answers at I2C address 0x{settings['address']:02x} ({exc}); "
            "check its wiring (VIN to 3.3 V, GND, SDA to GPIO 2, SCL to GPIO 3) and "
            "i2cdetect -y 1"
        ) from exc
    return VL53L0X(sensor, settings["max_m"])


SENSOR = SensorKind(
    name="vl53l0x",
    check_options=check_options,
    create=create,
    requires=(
        Requirement(
            module="adafruit_vl53l0x", pip="adafruit-circuitpython-vl53l0x", extra="obstacle"
        ),
    ),
    options=(
        Option("i2c_address", "0x29", "the sensor's I2C address"),
        Option("max_m", 1.2, "the longest distance trusted (the chip reaches 1.2 m indoors)"),
    ),
)

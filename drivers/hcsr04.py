"""The ``hcsr04`` distance sensor: an HC-SR04 ultrasonic ranger on two GPIOs, through
gpiozero's ``DistanceSensor``, which times the echo in a thread of its own (so a reading
never waits for a measurement).

The HC-SR04's echo pin gives 5 V: wire it through a divider (1 kΩ and 2 kΩ) to the Pi's
3.3 V GPIO (docs/boards.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drivers.base import DriverError, import_library
from drivers.distance import DistanceSensor, SensorKind
from drivers.options import BoardOptions, Option, Requirement

PREFIX = "OBSTACLE_GUARD.options"


class HCSR04(DistanceSensor):
    def __init__(self, sensor: Any) -> None:
        self._sensor = sensor

    def distance_m(self) -> float | None:
        # gpiozero reports max_distance when no echo comes back: nothing in range.
        metres = self._sensor.distance
        return None if metres >= self._sensor.max_distance else metres

    def close(self) -> None:
        self._sensor.close()


def _settings(options: Mapping[str, Any]) -> dict[str, Any]:
    opts = BoardOptions("hcsr04", dict(options), PREFIX)
    settings = {
        "trigger": opts.get("trigger", 23, int),
        "echo": opts.get("echo", 24, int),
        "max_m": opts.get("max_m", 2.0, (int, float)),
    }
    for pin in ("trigger", "echo"):
        if not 0 <= settings[pin] <= 27:
            opts.fail(pin, settings[pin], "must be a BCM GPIO number from 0 to 27")
    if settings["trigger"] == settings["echo"]:
        opts.fail("echo", settings["echo"], "must differ from trigger")
    if not 0 < settings["max_m"] <= 4:
        opts.fail("max_m", settings["max_m"], "must be from 0 (excluded) to 4 metres")
    opts.done()
    return settings


def check_options(options: Mapping[str, Any]) -> None:
    _settings(options)


def create(options: Mapping[str, Any], pin_factory: Any = None) -> HCSR04:
    """The sensor; ``pin_factory`` is a gpiozero pin factory (gpiozero's default if None)."""
    settings = _settings(options)
    gpiozero = import_library("hcsr04", "gpiozero", "pip install 'telepresence-robot[obstacle]'")
    try:
        sensor = gpiozero.DistanceSensor(
            echo=settings["echo"],
            trigger=settings["trigger"],
            max_distance=settings["max_m"],
            pin_factory=pin_factory,
        )
    except Exception as exc:  # gpiozero's own errors: no pin factory, a pin in use...
        raise DriverError(
            f'distance sensor "hcsr04": cannot use GPIO {settings["trigger"]} and '
            f"{settings['echo']} ({type(exc).__name__}: {exc}); on a Pi, install "
            "python3-lgpio and check that no other program holds the pins"
        ) from exc
    return HCSR04(sensor)


SENSOR = SensorKind(
    name="hcsr04",
    check_options=check_options,
    create=create,
    requires=(
        Requirement(module="gpiozero", pip="gpiozero", apt="python3-gpiozero", extra="obstacle"),
    ),
    options=(
        Option("trigger", 23, "the BCM GPIO wired to the sensor's TRIG"),
        Option("echo", 24, "the BCM GPIO wired to its ECHO, through a 5 V to 3.3 V divider"),
        Option("max_m", 2.0, "the longest distance it reports; beyond, nothing is in range"),
    ),
)

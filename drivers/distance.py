"""Forward distance sensors, found by name as the motor boards are: a :class:`SensorKind`
published under the entry-point group ``telepresence_robot.distance_sensors``. Each module
imports its library inside ``create``, so a robot without a sensor never needs one.

    with distance.load("vl53l0x", {"i2c_address": 0x29}) as sensor:
        sensor.distance_m()   # metres to what is ahead, None when nothing is in range

``distance_m`` may block for a measurement (tens of milliseconds): the daemon calls it off
its event loop.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from drivers import _installed
from drivers.base import DriverError
from drivers.options import Option, Requirement

ENTRY_POINT_GROUP = "telepresence_robot.distance_sensors"


class DistanceSensor(abc.ABC):
    @abc.abstractmethod
    def distance_m(self) -> float | None:
        """Metres from the sensor to what is ahead of it; None when nothing is in range."""

    def close(self) -> None:  # noqa: B027 (optional: most sensors hold nothing)
        """Release the bus or the pins."""

    def __enter__(self) -> DistanceSensor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True)
class SensorKind:
    """A distance sensor plugin. ``check_options`` raises DriverError naming every bad option
    without touching hardware; ``create`` builds the sensor (and imports its library)."""

    name: str
    check_options: Callable[[Mapping[str, Any]], None]
    create: Callable[[Mapping[str, Any]], DistanceSensor]
    requires: tuple[Requirement, ...] = ()
    options: tuple[Option, ...] = ()  # its OBSTACLE_GUARD keys (docs/boards.md's table)


def sensor_names() -> list[str]:
    return sorted(_entry_points())


def kind(name: str) -> SensorKind:
    entry_point = _entry_points().get(name)
    if entry_point is None:
        raise DriverError(
            f'unknown distance sensor "{name}": choose one of {", ".join(sensor_names())}'
        )
    found = entry_point.load()
    if not isinstance(found, SensorKind):
        raise DriverError(f'distance sensor "{name}": {entry_point.value} is not a SensorKind')
    return found


def check(name: str, options: Mapping[str, Any]) -> list[str]:
    """Every problem that would stop sensor ``name`` from starting, without touching it."""
    try:
        plugin = kind(name)
        plugin.check_options(dict(options))
    except DriverError as exc:
        return [str(exc)]
    return [
        f'distance sensor "{name}" needs the Python package "{requirement.pip}": '
        f"{requirement.install_hint()}"
        for requirement in plugin.requires
        if not _installed(requirement.module)
    ]


def load(name: str, options: Mapping[str, Any]) -> DistanceSensor:
    plugin = kind(name)
    problems = check(name, options)
    if problems:
        raise DriverError("; ".join(problems))
    return plugin.create(dict(options))


@functools.cache
def _entry_points() -> dict[str, EntryPoint]:
    return {entry.name: entry for entry in entry_points(group=ENTRY_POINT_GROUP)}

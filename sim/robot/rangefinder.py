"""The ``sim`` distance sensor: what a forward rangefinder at the front of the simulated robot
would measure, by casting a ray into the sim board's world (sim/robot/world.py) from the pose
the board writes to its state file (as the simulated camera follows it).

Registered as the distance sensor ``sim`` (entry point group
``telepresence_robot.distance_sensors``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from drivers.distance import DistanceSensor, SensorKind
from drivers.options import BoardOptions, Option
from sim.robot.board import pose_from_state_file
from sim.robot.world import WORLDS, ahead_of

PREFIX = "OBSTACLE_GUARD.options"


class SimRangefinder(DistanceSensor):
    def __init__(
        self, state_file: str, max_m: float = 2.0, world: str = "room", fov_deg: float = 25.0
    ) -> None:
        self._pose = pose_from_state_file(Path(state_file))
        self.max_m = max_m
        self.world = WORLDS[world]
        self.fov_deg = fov_deg

    def distance_m(self) -> float | None:
        pose = self._pose(time.monotonic())
        distance = ahead_of(self.world, pose.x, pose.y, pose.heading, self.fov_deg)
        return distance if distance <= self.max_m else None


def _settings(options: Mapping[str, Any]) -> dict[str, Any]:
    opts = BoardOptions("sim", dict(options), PREFIX)
    settings = {
        "state_file": opts.get("state_file", "", str),
        "max_m": opts.get("max_m", 2.0, (int, float)),
        "world": opts.get("world", "room", str, choices=tuple(WORLDS)),
        "fov_deg": opts.get("fov_deg", 25.0, (int, float)),
    }
    if not 0 <= settings["fov_deg"] <= 90:
        opts.fail("fov_deg", settings["fov_deg"], "must be from 0 (one ray) to 90 degrees")
    if not settings["state_file"]:
        opts.fail("state_file", settings["state_file"], "name the sim board's state file")
    if not 0 < settings["max_m"] <= 10:
        opts.fail("max_m", settings["max_m"], "must be from 0 (excluded) to 10 metres")
    opts.done()
    return settings


def check_options(options: Mapping[str, Any]) -> None:
    _settings(options)


def create(options: Mapping[str, Any]) -> SimRangefinder:
    return SimRangefinder(**_settings(options))


SENSOR = SensorKind(
    name="sim",
    check_options=check_options,
    create=create,
    options=(
        Option("state_file", "", "the sim board's state file, which holds the robot's pose"),
        Option("max_m", 2.0, "the longest distance it reports; beyond, nothing is in range"),
        Option("world", "room", "the world it measures, as the sim board's `world` option"),
        Option(
            "fov_deg",
            25.0,
            "its cone: the nearest thing within it counts (a VL53L0X sees 25 degrees, an "
            "HC-SR04 about 30)",
        ),
    ),
)

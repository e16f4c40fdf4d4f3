"""The ``sim`` board: two simulated wheels moving a simulated robot."""

from __future__ import annotations

import time
from typing import Any

from drivers.base import MotorDriver, clamp
from drivers.options import BoardOptions, Requirement
from sim.kinematics import DiffDrive

REQUIRES: Requirement | None = None


class SimMotors(MotorDriver):
    name = "sim"

    def __init__(self, wheel_base: float = 0.15, top_speed: float = 0.5) -> None:
        self.robot = DiffDrive(wheel_base, top_speed, now=time.monotonic())

    def drive(self, left: float, right: float) -> None:
        self.robot.set_wheels(clamp(left), clamp(right), time.monotonic())

    def stop(self) -> None:
        self.drive(0.0, 0.0)

    def status(self) -> dict[str, Any]:
        return {"pose": self.robot.pose(time.monotonic()).as_dict()}


def _settings(options: dict[str, Any]) -> dict[str, float]:
    opts = BoardOptions("sim", options)
    settings = {
        "wheel_base": opts.get("wheel_base", 0.15, (int, float)),
        "top_speed": opts.get("top_speed", 0.5, (int, float)),
    }
    for key, value in settings.items():
        if value <= 0:
            opts.fail(key, value, "must be a positive number of metres (per second)")
    opts.done()
    return settings


def check_options(options: dict[str, Any]) -> None:
    _settings(options)


def create(options: dict[str, Any]) -> SimMotors:
    return SimMotors(**_settings(options))

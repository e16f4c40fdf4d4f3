"""The ``sim`` board: two simulated wheels moving a simulated robot.

With the ``state_file`` option the wheel outputs are also written to a file on every change,
the simulated counterpart of a motor board that keeps its last output when the process
that set it dies: after a crash the file still shows the wheels turning, until
``robot stop-motors`` (or a new driver) stops them. The file also holds the pose at that
change and its time on the system-wide monotonic clock, so another process (the simulated
camera, in the video producer) can carry the motion on to any moment (``read_motion``).

Its status is the simulated robot's true ``pose``, which the daemon's odometry estimate
can be compared with, and how many ``collisions`` it had with its world's walls and boxes
(``world``: ``room`` by default, sim/robot/world.py). With ``encoders`` it reports how far
each wheel rolled, as a board with wheel encoders would, and the daemon's odometry is then
measured.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from drivers.base import Board
from drivers.channel_board import ChannelBoard
from drivers.options import BoardOptions, Option
from drivers.wiring import Wiring
from robot.posix.files import write_atomic
from sim.robot.kinematics import DiffDrive, Pose
from sim.robot.world import WORLDS


class SimMotors(ChannelBoard):
    name = "sim"

    def __init__(
        self,
        wheel_base: float = 0.15,
        top_speed: float = 0.5,
        state_file: str | None = None,
        mismatch: float = 0.0,
        encoders: bool = False,
        world: str = "room",
    ) -> None:
        super().__init__(Wiring())
        self.world = world
        self.robot = DiffDrive(
            wheel_base, top_speed, now=time.monotonic(), mismatch=mismatch, world=WORLDS[world]
        )
        self.encoders = encoders
        self.state_file = Path(state_file) if state_file else None
        self.stop()  # like a real board's driver: a new driver starts with the wheels stopped

    def _apply(self, outputs: Mapping[str, float], ttl_s: float | None = None) -> None:
        now = time.monotonic()
        self.robot.set_wheels(outputs["left"], outputs["right"], now)
        if self.state_file is not None:
            write_state(self.state_file, self.robot, now, self.world)

    def _halt(self) -> None:
        self._apply({"left": 0.0, "right": 0.0})

    def status(self) -> dict[str, Any]:
        pose = self.robot.pose(time.monotonic())
        return {"pose": pose.as_dict(), "collisions": self.robot.collisions}

    def wheel_travel(self) -> tuple[float, float] | None:
        return self.robot.travel(time.monotonic()) if self.encoders else None


def write_state(path: Path, robot: DiffDrive, now: float, world: str) -> None:
    """Write the wheel outputs and the motion since ``now``, so that a reader sees the old or
    the new state, never half."""
    pose = robot.pose(now)
    left, right = robot.wheels
    write_atomic(
        path,
        json.dumps(
            {
                "left": left,
                "right": right,
                "since": now,
                "pose": {"x": pose.x, "y": pose.y, "heading": pose.heading},
                "wheel_separation": robot.wheel_separation,
                "top_speed": robot.top_speed,
                "mismatch": robot.mismatch,
                "world": world,
            }
        ),
    )


def read_state(path: Path | str) -> tuple[float, float]:
    """The wheel outputs last written to a state file: (left, right)."""
    state = json.loads(Path(path).read_text())
    return float(state["left"]), float(state["right"])


def read_motion(path: Path | str) -> DiffDrive:
    """The robot's motion as last written to a state file: ``.pose(now)`` for any later
    ``now`` on the monotonic clock."""
    state = json.loads(Path(path).read_text())
    since = float(state["since"])
    robot = DiffDrive(
        float(state["wheel_separation"]),
        float(state["top_speed"]),
        since,
        mismatch=float(state["mismatch"]),
        start=Pose(**{key: float(value) for key, value in state["pose"].items()}),
        world=WORLDS[state["world"]],
    )
    robot.set_wheels(float(state["left"]), float(state["right"]), since)
    return robot


def pose_from_state_file(path: Path) -> Callable[[float], Pose]:
    """The pose at a monotonic time, from the sim board's state file (the start pose until
    the board has written one). The file is read again only when it changed."""
    seen: dict[str, Any] = {"version": None, "motion": None}

    def pose(now: float) -> Pose:
        try:
            version = path.stat().st_mtime_ns
            if version != seen["version"]:
                seen["motion"], seen["version"] = read_motion(path), version
        except (OSError, ValueError, KeyError, TypeError):
            return Pose()
        return seen["motion"].pose(now)

    return pose


def _settings(options: dict[str, Any]) -> dict[str, Any]:
    opts = BoardOptions("sim", options)
    settings: dict[str, Any] = {
        "wheel_base": opts.get("wheel_base", 0.15, (int, float)),
        "top_speed": opts.get("top_speed", 0.5, (int, float)),
    }
    for key, value in settings.items():
        if value <= 0:
            opts.fail(key, value, "must be a positive number of metres (per second)")
    state_file = opts.get("state_file", None, (str, type(None)))
    if state_file is not None and not Path(state_file).parent.is_dir():
        opts.fail("state_file", state_file, "its folder must exist")
    settings["state_file"] = state_file
    # Real motors never match: by default the right wheel runs 2 % fast, so the daemon's
    # dead reckoning drifts from the true pose as it would on a real robot.
    settings["mismatch"] = opts.get("mismatch", 0.02, (int, float))
    if not -0.5 <= settings["mismatch"] <= 0.5:
        opts.fail("mismatch", settings["mismatch"], "must be from -0.5 to 0.5")
    settings["encoders"] = opts.get("encoders", False, bool)
    settings["world"] = opts.get("world", "room", str, choices=tuple(WORLDS))
    opts.done()
    return settings


def check_options(options: dict[str, Any]) -> None:
    _settings(options)


def create(options: dict[str, Any]) -> SimMotors:
    return SimMotors(**_settings(options))


def probe(options: Mapping[str, Any]) -> str:
    return "simulated wheels: nothing to find on a bus"


BOARD = Board(
    name="sim",
    check_options=check_options,
    create=create,
    probe=probe,
    options=(
        Option("wheel_base", 0.15, "metres between the wheels"),
        Option("top_speed", 0.5, "metres per second of a wheel at output 1"),
        Option(
            "state_file",
            None,
            "a file the wheel outputs (and the pose) are written to on every change; it keeps "
            "showing the last outputs after the process dies, as a real board would",
        ),
        Option(
            "mismatch",
            0.02,
            "how much faster the right wheel runs than the left (-0.5..0.5), so that "
            "dead reckoning drifts as on a real robot",
        ),
        Option(
            "encoders",
            False,
            "report wheel travel as encoders would: telemetry's odometry is then `measured`",
        ),
        Option(
            "world",
            "room",
            "the walls and boxes around the robot: `room` (a wall 4 m ahead of the start, two "
            "boxes, walls all round) or `empty`",
        ),
    ),
)

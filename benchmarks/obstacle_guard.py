"""The obstacle guard's stopping distance: the real controller, guard and sensor loop on the
sim board, driven at full speed at the simulated room's wall from several starts (distances
and headings), the commands coming as the console sends them (every 250 ms, 600 ms TTL).

    .venv/bin/python benchmarks/obstacle_guard.py [--runs 6]

Each run ends when the wheels have been held at zero for a second, or after 10 s. Printed:
the gap left between the robot's body and the wall, and collisions, per run, beside the
target (>= 0.15 m every run, no collision); then what the guard's sensor loop costs a robot
standing still (5 readings a second of the sim sensor, off the loop; 20 going forward),
beside the daemon's idle budget (<= 1 % of a core for all it does). Nothing here asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drivers import distance
from robot.contracts.admission import CommandPath
from robot.contracts.protocol import Command
from robot.daemon import obstacle_guard, ramp
from robot.daemon.controller import MotionController
from sim.robot.board import SimMotors
from sim.robot.kinematics import DiffDrive, Pose
from sim.robot.world import ROBOT_RADIUS_M, ROOM

FULL_AHEAD = Command("drive", linear=1.0, angular=0.0, speed=1.0, ttl_ms=600)
STARTS = [Pose(0, 0, 0), Pose(1.0, 0.5, 0.2), Pose(2.0, -1.0, -0.3), Pose(2.6, 0, 0),
          Pose(3.0, 2.0, 0.4), Pose(0.5, -2.0, 0.0)]  # fmt: skip
TARGET_M = 0.15


async def run_once(start: Pose, state_file: Path) -> tuple[float, int, float]:
    """(gap to the nearest block, collisions, seconds until held) for one run."""
    board = SimMotors(state_file=str(state_file))
    board.robot = DiffDrive(0.15, 0.5, time.monotonic(), mismatch=0.02, start=start, world=ROOM)
    board.stop()
    guard = obstacle_guard.ObstacleGuard(0.5, 0.2)
    controller = MotionController(
        board, 0.6, 500, limits=ramp.Limits(1.0, 4.0, 8.0), limiters=[guard]
    )
    sensor = distance.load("sim", {"state_file": str(state_file)})
    watching = asyncio.create_task(
        obstacle_guard.watch(sensor, guard, controller.limits_changed, controller.going_forward)
    )
    began = time.monotonic()
    held_since = None
    try:
        while time.monotonic() - began < 10:
            controller.apply(FULL_AHEAD, CommandPath.DATACHANNEL)
            await asyncio.sleep(0.25)
            stopped = controller.state.left == controller.state.right == 0.0
            held_since = (held_since or time.monotonic()) if stopped else None
            if held_since and time.monotonic() - held_since > 1.0:
                break
    finally:
        watching.cancel()
        controller.stop(controller.state.reason)
    pose = board.robot.pose(time.monotonic())
    gap = ROOM.clearance(pose.x, pose.y) - ROBOT_RADIUS_M
    return gap, board.robot.collisions, (held_since or time.monotonic()) - began


async def idle_cpu(state_file: Path, seconds: float = 10.0) -> float:
    """% of one core this process spends while the guard reads the sim sensor, wheels still."""
    SimMotors(state_file=str(state_file)).stop()  # a robot at the start, standing
    guard = obstacle_guard.ObstacleGuard(0.5, 0.2)
    sensor = distance.load("sim", {"state_file": str(state_file)})
    watching = asyncio.create_task(
        obstacle_guard.watch(sensor, guard, lambda: None, going_forward=lambda: False)
    )
    await asyncio.sleep(1.0)  # the thread pool started, the file read once
    began, cpu = time.monotonic(), time.process_time()
    await asyncio.sleep(seconds)
    used = (time.process_time() - cpu) / (time.monotonic() - began) * 100
    watching.cancel()
    return used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=len(STARTS))
    args = parser.parse_args()
    print("obstacle guard (slow_m 0.5, stop_m 0.2), full speed (0.5 m/s) at the room's wall:")
    print(f"  {'start (x, y, heading)':<26} {'gap left':>9} {'collisions':>11} {'held after':>11}")
    gaps = []
    with tempfile.TemporaryDirectory() as folder:
        for number in range(args.runs):
            start = STARTS[number % len(STARTS)]
            gap, collisions, held = asyncio.run(run_once(start, Path(folder) / "board.json"))
            gaps.append(gap)
            where = f"({start.x:.1f}, {start.y:.1f}, {math.degrees(start.heading):.0f} deg)"
            print(f"  {where:<26} {gap:>7.3f} m {collisions:>11} {held:>9.1f} s")
        print(f"  smallest gap {min(gaps):.3f} m   target >= {TARGET_M} m every run, no collision")
        cpu = asyncio.run(idle_cpu(Path(folder) / "idle.json"))
    print(f"the guard's sensor loop, robot standing: {cpu:.2f} % of a core   (daemon idle <= 1 %)")


if __name__ == "__main__":
    main()

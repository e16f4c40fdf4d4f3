"""The obstacle guard end to end: the real daemon on the sim board, its guard reading the
simulated rangefinder, driven through POST /publish (the real Lambda and broker) straight at
the simulated room's wall at full speed for 10 s, as an operator holding the key would.

With the guard on the robot ends stopped before the wall, never touching it, at least 0.15 m
from it; with the guard off the same run ends against the wall, counted as a collision (so
the first half can fail).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from sim.robot.world import ROBOT_RADIUS_M, ROOM
from tests.support.http import post
from tests.support.stack import RecordingStack

RUN_S = 10.0
KEEPALIVE_S = 0.25  # as the console sends
# A TTL of six keep-alives: on a loaded machine a slow POST must not stop the robot short of
# the wall (it needs about 8 of the 10 s at full speed to get there).
FULL_AHEAD = {"action": "drive", "linear": 1, "angular": 0, "speed": 1, "ttl_ms": 1500}
WALL_X = ROOM.blocks[0].x0  # the wall straight ahead of the start


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingStack]:
    with RecordingStack(tmp_path_factory.mktemp("guard"), port=0, heal=False) as running:
        yield running


def drive_at_the_wall(stack: RecordingStack) -> dict:
    """Full speed ahead for RUN_S, then the telemetry once the wheels have stopped."""
    stack.drain_telemetry()
    deadline = time.monotonic() + RUN_S
    while (now := time.monotonic()) < deadline:
        status, _, body = post(stack.url + "/publish", FULL_AHEAD, stack.auth_headers())
        assert status == 200, body
        time.sleep(min(KEEPALIVE_S, max(0.0, deadline - now)))  # the sender's pace
    stack.drain_telemetry()
    return stack.wait_for_telemetry(
        lambda m: m.get("wheels") == {"left": 0.0, "right": 0.0} and "pose" in m, timeout=5
    )


def gap(state: dict) -> float:
    """Metres between the robot's body and the nearest wall or box (the sim board's right
    wheel runs 2 % fast, as real motors differ: the robot drifts left on its way)."""
    return ROOM.clearance(state["pose"]["x"], state["pose"]["y"]) - ROBOT_RADIUS_M


def test_the_guard_stops_the_robot_before_the_wall(stack: RecordingStack) -> None:
    stopped = drive_at_the_wall(stack)
    assert stopped["collisions"] == 0
    assert stopped["pose"]["x"] > WALL_X - 1, stopped["pose"]  # it did drive up to the wall
    assert stopped["obstacle"]["distance_m"] is not None, stopped["obstacle"]
    assert gap(stopped) >= 0.15, stopped["pose"]
    # What the guard saw: the wall along the heading, a little further than straight across.
    assert gap(stopped) <= stopped["obstacle"]["distance_m"] <= 0.2 + 0.05


def test_while_held_at_the_wall_telemetry_says_the_obstacle_limits(stack: RecordingStack) -> None:
    post(stack.url + "/publish", FULL_AHEAD, stack.auth_headers())
    stack.drain_telemetry()
    held = stack.wait_for_telemetry(lambda m: m.get("reason") == "command", timeout=5)
    assert held["limited_by"] == "obstacle"
    assert held["wheels"] == {"left": 0.0, "right": 0.0}
    # Backing away stays allowed.
    back = {**FULL_AHEAD, "linear": -1}
    post(stack.url + "/publish", back, stack.auth_headers())
    stack.drain_telemetry()
    backing = stack.wait_for_telemetry(lambda m: m["wheels"]["left"] < 0, timeout=5)
    assert backing["limited_by"] is None


def test_without_the_guard_the_same_run_hits_the_wall(stack: RecordingStack) -> None:
    stack.stop_daemon()
    settings = json.loads(stack.config_path.read_text())
    stack.config_path.write_text(json.dumps({**settings, "OBSTACLE_GUARD": {}}))
    stack.start_daemon()  # a new sim board: the robot at the start again
    crashed = drive_at_the_wall(stack)
    assert crashed["collisions"] >= 1
    assert gap(crashed) == pytest.approx(0, abs=0.01)
    assert "obstacle" not in crashed

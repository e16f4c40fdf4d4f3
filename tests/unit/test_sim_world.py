"""The simulated world: the kinematics stop the robot's body at walls and boxes and count
each collision, backing away is free; the simulated rangefinder measures by ray casting."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers import distance
from sim.robot.board import SimMotors
from sim.robot.kinematics import DiffDrive, Pose
from sim.robot.world import EMPTY, ROBOT_RADIUS_M, ROOM, Block, World, ahead_of
from tests.unit.conftest import PROPERTY

WALL = World((Block(2.0, -5.0, 2.2, 5.0),))  # 2 m ahead of the start
CONTACT_X = 2.0 - ROBOT_RADIUS_M


def test_the_robot_stops_at_the_wall_and_the_collision_counts_once() -> None:
    robot = DiffDrive(world=WALL)
    robot.set_wheels(1.0, 1.0, 0.0)
    assert robot.pose(2.0).x == pytest.approx(1.0)
    assert robot.collisions == 0
    assert robot.pose(10.0).x == pytest.approx(CONTACT_X, abs=0.006)
    assert robot.collisions == 1
    robot.set_wheels(1.0, 1.0, 10.0)  # still pushing: no new collision
    assert robot.pose(12.0).x == pytest.approx(CONTACT_X, abs=0.006)
    assert robot.collisions == 1


def test_backing_away_from_the_wall_is_free_and_driving_back_into_it_counts_again() -> None:
    robot = DiffDrive(world=WALL)
    robot.set_wheels(1.0, 1.0, 0.0)
    robot.pose(10.0)
    robot.set_wheels(-1.0, -1.0, 10.0)
    assert robot.pose(11.0).x == pytest.approx(CONTACT_X - 0.5, abs=0.006)
    robot.set_wheels(0.5, -0.5, 11.0)  # spinning on the spot touches nothing
    robot.set_wheels(1.0, 1.0, 11.0)
    robot.pose(20.0)
    assert robot.collisions == 2


def test_an_encoder_counts_no_further_once_the_robot_is_stuck() -> None:
    robot = DiffDrive(world=WALL)
    robot.set_wheels(1.0, 1.0, 0.0)
    assert robot.travel(10.0) == pytest.approx(robot.travel(20.0))


@PROPERTY
@given(
    st.lists(
        st.tuples(st.floats(-1, 1), st.floats(-1, 1), st.floats(0.05, 3.0)),
        min_size=1,
        max_size=12,
    )
)
def test_whatever_the_driving_the_body_never_goes_into_a_block(
    stretches: list[tuple[float, float, float]],
) -> None:
    robot = DiffDrive(world=ROOM)
    now = 0.0
    for left, right, seconds in stretches:
        robot.set_wheels(left, right, now)
        for moment in (now + seconds / 2, now + seconds):
            pose = robot.pose(moment)
            assert ROOM.clearance(pose.x, pose.y) > ROBOT_RADIUS_M - 0.006
        now += seconds


def test_with_no_blocks_nothing_stops_the_robot() -> None:
    robot = DiffDrive(world=EMPTY)
    robot.set_wheels(1.0, 1.0, 0.0)
    assert robot.pose(100.0).x == pytest.approx(50.0)
    assert robot.collisions == 0


def test_a_ray_finds_the_nearest_face() -> None:
    assert WALL.ray(0.0, 0.0, 0.0) == pytest.approx(2.0)
    assert WALL.ray(0.0, 0.0, math.pi) == math.inf
    assert WALL.ray(0.0, 0.0, math.pi / 4) == pytest.approx(2.0 * math.sqrt(2))
    assert ahead_of(WALL, 0.0, 0.0, 0.0) == pytest.approx(2.0 - ROBOT_RADIUS_M)
    box = ROOM.blocks[4]
    assert ROOM.ray(1.0, 0.0, math.pi / 2) == pytest.approx(box.y0)  # the box, not the wall


def test_the_sim_rangefinder_follows_the_board_through_its_state_file(tmp_path: Path) -> None:
    state = tmp_path / "sim-board.json"
    board = SimMotors(state_file=str(state), mismatch=0.0)
    with distance.load("sim", {"state_file": str(state), "max_m": 2.0}) as sensor:
        assert sensor.distance_m() is None  # 3.88 m to the room's wall: beyond 2 m
        board.robot = DiffDrive(now=time.monotonic(), world=ROOM, start=Pose(x=3.0))
        board.drive(0.0, 0.0)  # written to the state file, as every change is
        assert sensor.distance_m() == pytest.approx(1.0 - ROBOT_RADIUS_M)
    board.close()

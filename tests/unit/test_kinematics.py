"""Differential-drive kinematics: lines, spins, arcs, and exact integration."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from robot.contracts.protocol import Command
from robot.daemon.mixing import wheel_outputs
from sim.robot.kinematics import DiffDrive, Pose
from tests.unit.conftest import PROPERTY, unit_floats

WHEEL_SEPARATION = 0.15
TOP_SPEED = 0.5
durations = st.floats(min_value=0.0, max_value=20.0)


def angle_between(a: float, b: float) -> float:
    """The smallest difference between two headings, in radians."""
    return abs(math.remainder(a - b, math.tau))


def assert_same_pose(actual: Pose, expected: Pose, tolerance: float = 1e-6) -> None:
    assert actual.x == pytest.approx(expected.x, abs=tolerance)
    assert actual.y == pytest.approx(expected.y, abs=tolerance)
    assert angle_between(actual.heading, expected.heading) <= tolerance


def robot_with(left: float, right: float, heading: float = 0.0) -> DiffDrive:
    """A robot at the origin facing ``heading`` whose wheels are set to (left, right) at t=0."""
    robot = DiffDrive(WHEEL_SEPARATION, TOP_SPEED, now=-1.0)
    if heading:  # spin there first (at most half a turn, done by t=0)
        spin = math.copysign(0.5, heading)
        robot.set_wheels(-spin, spin, now=-1.0)
        robot.set_wheels(0.0, 0.0, now=-1.0 + heading * WHEEL_SEPARATION / (2 * spin * TOP_SPEED))
    assert angle_between(robot.pose(0.0).heading, heading) < 1e-9
    robot.set_wheels(left, right, now=0.0)
    return robot


@PROPERTY
@given(unit_floats, durations)
def test_a_straight_line_covers_speed_times_time(output: float, seconds: float) -> None:
    pose = robot_with(output, output).pose(seconds)
    assert pose.x == pytest.approx(output * TOP_SPEED * seconds, abs=1e-9)
    assert pose.y == 0.0
    assert pose.heading == 0.0


@PROPERTY
@given(unit_floats, st.floats(0.0, 3.0))
def test_a_spin_in_place_turns_without_moving(output: float, seconds: float) -> None:
    pose = robot_with(-output, output).pose(seconds)
    assert pose.x == pytest.approx(0.0, abs=1e-12)
    assert pose.y == pytest.approx(0.0, abs=1e-12)
    turned = 2 * output * TOP_SPEED / WHEEL_SEPARATION * seconds
    assert angle_between(pose.heading, turned) < 1e-9
    assert -math.pi <= pose.heading <= math.pi


@PROPERTY
@given(
    unit_floats,
    unit_floats,
    st.floats(-math.pi, math.pi),
    durations,
    st.integers(min_value=2, max_value=50),
)
@example(left=1.0 - 1e-9, right=1.0, heading=3.0, seconds=20.0, steps=50)  # a very wide arc
def test_many_small_steps_end_where_one_step_does(
    left: float, right: float, heading: float, seconds: float, steps: int
) -> None:
    whole = robot_with(left, right, heading)
    stepped = robot_with(left, right, heading)
    for step in range(1, steps):
        stepped.set_wheels(left, right, now=seconds * step / steps)
    assert_same_pose(stepped.pose(seconds), whole.pose(seconds), tolerance=1e-9)


def test_a_wide_arc_drifts_sideways_as_its_curvature_says() -> None:
    # over a small angle the sideways offset of an arc is distance**2 / (2 * radius)
    left, right, seconds = 1.0 - 4e-10, 1.0, 20.0
    v = (left + right) / 2 * TOP_SPEED
    omega = (right - left) * TOP_SPEED / WHEEL_SEPARATION
    pose = robot_with(left, right).pose(seconds)
    assert pose.y == pytest.approx((v * seconds) ** 2 / (2 * v / omega), rel=1e-6)


@pytest.mark.parametrize(("left", "right"), [(0.5, 1.0), (1.0, -0.2), (-0.3, -0.9)])
def test_a_full_circle_comes_back_to_the_start(left: float, right: float) -> None:
    robot = robot_with(left, right)
    omega = (right - left) * TOP_SPEED / WHEEL_SEPARATION
    period = math.tau / abs(omega)
    halfway = robot.pose(period / 2)
    assert math.hypot(halfway.x, halfway.y) > 0.01  # it did go somewhere
    assert_same_pose(robot.pose(period), Pose(), tolerance=1e-9)


def test_the_left_action_turns_counter_clockwise() -> None:
    robot = robot_with(*wheel_outputs(Command("left"), 0.6))
    headings = [robot.pose(t / 10).heading for t in range(1, 5)]
    assert 0.0 < headings[0] < headings[1] < headings[2] < headings[3] < math.pi


def test_driving_forward_with_positive_angular_curves_to_the_left() -> None:
    robot = robot_with(*wheel_outputs(Command("drive", linear=0.8, angular=0.2), 0.6))
    pose = robot.pose(0.5)
    assert pose.x > 0.0
    assert pose.y > 0.0  # y is to the left at heading 0
    assert pose.heading > 0.0


def test_the_wheels_hold_between_changes_and_time_never_runs_back() -> None:
    robot = DiffDrive(WHEEL_SEPARATION, TOP_SPEED, now=0.0)
    robot.set_wheels(1.0, 1.0, now=1.0)
    assert robot.wheels == (1.0, 1.0)
    assert robot.pose(0.5) == Pose()  # before the wheels turned
    robot.set_wheels(0.0, 0.0, now=3.0)
    assert robot.pose(10.0).x == pytest.approx(2 * TOP_SPEED)


@pytest.mark.parametrize(("wheel_separation", "top_speed"), [(0.0, 0.5), (0.15, -1.0)])
def test_a_robot_needs_a_positive_size_and_speed(wheel_separation: float, top_speed: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        DiffDrive(wheel_separation, top_speed)

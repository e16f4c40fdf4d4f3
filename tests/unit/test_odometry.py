"""Odometry: dead reckoning from commanded outputs, and from a board's encoders."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from robot.daemon.odometry import Odometry
from sim.robot.kinematics import DiffDrive
from tests.unit.conftest import PROPERTY, unit_floats

WHEEL_SEPARATION, TOP_SPEED = 0.15, 0.5


def test_straight_ahead_is_estimated_from_the_outputs() -> None:
    odometry = Odometry(WHEEL_SEPARATION, TOP_SPEED, now=0.0)
    odometry.outputs_changed(0.5, 0.5, now=0.0)
    report = odometry.report(now=2.0)
    assert report["source"] == "estimated"
    assert report["x"] == pytest.approx(0.5)  # 0.5 output * 0.5 m/s * 2 s
    assert report["y"] == 0.0 and report["heading"] == 0.0
    assert report["linear"] == pytest.approx(0.25) and report["angular"] == 0.0


@PROPERTY
@given(st.lists(st.tuples(unit_floats, unit_floats, st.floats(0.01, 1.0)), max_size=6))
def test_the_estimate_equals_a_robot_whose_wheels_match(
    stretches: list[tuple[float, float, float]],
) -> None:
    odometry = Odometry(WHEEL_SEPARATION, TOP_SPEED, now=0.0)
    robot = DiffDrive(WHEEL_SEPARATION, TOP_SPEED, now=0.0)
    now = 0.0
    for left, right, seconds in stretches:
        odometry.outputs_changed(left, right, now)
        robot.set_wheels(left, right, now)
        now += seconds
    estimate, truth = odometry.pose(now), robot.pose(now)
    assert estimate.x == pytest.approx(truth.x, abs=1e-9)
    assert estimate.y == pytest.approx(truth.y, abs=1e-9)


def test_encoders_make_it_measured_and_see_what_outputs_cannot() -> None:
    robot = DiffDrive(WHEEL_SEPARATION, TOP_SPEED, now=0.0, mismatch=0.1)  # right wheel 10 % fast
    estimated = Odometry(WHEEL_SEPARATION, TOP_SPEED, now=0.0)
    measured = Odometry(WHEEL_SEPARATION, TOP_SPEED, now=0.0)
    robot.set_wheels(0.8, 0.8, 0.0)
    estimated.outputs_changed(0.8, 0.8, 0.0)
    for step in range(101):  # encoder readings at 10 Hz for 10 s
        measured.encoders(robot.travel(step / 10), step / 10)
    truth = robot.pose(10.0)
    assert measured.report(10.0)["source"] == "measured"
    assert measured.pose(10.0).heading == pytest.approx(truth.heading, abs=1e-6)
    assert estimated.pose(10.0).heading == 0.0  # equal outputs: it believes it went straight
    drift = math.dist((estimated.pose(10.0).x, estimated.pose(10.0).y), (truth.x, truth.y))
    assert drift > 0.1

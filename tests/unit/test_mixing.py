"""Wheel mixing: the outputs each command asks of the wheels."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from robot.contracts.protocol import (
    AUDIO_ACTION,
    DISCRETE_ACTIONS,
    LATCH_ACTIONS,
    SESSION_ACTIONS,
    Command,
    ProtocolError,
    parse,
)
from robot.daemon.mixing import wheel_outputs
from tests.unit.conftest import PROPERTY, command_like, commands, speeds, unit_floats


@PROPERTY
@given(command_like | commands().map(Command.to_dict), speeds)
def test_every_accepted_command_asks_for_finite_outputs_within_range(
    fields: dict[str, Any], default_speed: float
) -> None:
    try:
        command = parse(json.dumps(fields))
    except ProtocolError:
        return
    if command.action in LATCH_ACTIONS:  # the controller stops the wheels for these, unmixed
        return
    if command.action == AUDIO_ACTION:  # the daemon refuses it: the producer applies it
        return
    if command.action in SESSION_ACTIONS:  # they move the lease, never the wheels
        return
    for output in wheel_outputs(command, default_speed):
        assert math.isfinite(output)
        assert -1.0 <= output <= 1.0


@PROPERTY
@given(unit_floats, unit_floats, st.none() | speeds)
def test_drive_keeps_its_curve_when_scaled_down(
    linear: float, angular: float, speed: float | None
) -> None:
    left, right = wheel_outputs(Command("drive", linear, angular, speed), default_speed=0.6)
    full_left, full_right = wheel_outputs(Command("drive", linear, angular, 1.0), 0.6)
    # the wheels turn in the ratio (linear - angular) : (linear + angular)
    assert full_left * (linear + angular) == pytest.approx(
        full_right * (linear - angular), abs=1e-9
    )
    # neither wheel ever passes full speed, and the faster one gets all of it when it would
    peak = max(abs(linear - angular), abs(linear + angular))
    assert max(abs(full_left), abs(full_right)) == pytest.approx(min(peak, 1.0), abs=1e-9)
    # speed scales both wheels alike
    if speed is not None:
        assert (left, right) == pytest.approx((full_left * speed, full_right * speed), abs=1e-9)


@PROPERTY
@given(st.floats(0.01, 1.0), st.floats(0.0, 1.0))
def test_drive_turns_counter_clockwise_for_positive_angular(angular: float, linear: float) -> None:
    left, right = wheel_outputs(Command("drive", linear, angular), 0.6)
    assert right > left


# Signs of (left, right) for each discrete action, as the shared contract states them.
DIRECTIONS = {
    "forward": (1, 1),
    "backwards": (-1, -1),
    "left": (-1, 1),  # left wheel backwards, right wheel forwards
    "right": (1, -1),
    "stop": (0, 0),
}


@PROPERTY
@given(st.sampled_from(DISCRETE_ACTIONS), st.none() | speeds, speeds)
def test_discrete_actions_turn_each_wheel_its_way_at_the_speed(
    action: str, speed: float | None, default_speed: float
) -> None:
    left, right = wheel_outputs(Command(action, speed=speed), default_speed)
    expected = default_speed if speed is None else speed
    assert (left, right) == (DIRECTIONS[action][0] * expected, DIRECTIONS[action][1] * expected)


def test_outputs_never_carry_a_negative_zero() -> None:
    for action in DISCRETE_ACTIONS:
        for output in wheel_outputs(Command(action, speed=0.0), 0.6):
            assert math.copysign(1.0, output) == 1.0

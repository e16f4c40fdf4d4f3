"""One contract, every registered board: the same calls give the same wheel outputs, read
at the (simulated) silicon: sign, magnitude, stop, and stop on close."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import drivers
from drivers.base import DriverError, clamp

# The finest step of the coarsest board: the Explorer HAT's speed is a whole percent.
RESOLUTION = 0.006

pytestmark = pytest.mark.parametrize("board", drivers.board_names())


def near(*wheels: float) -> object:
    return pytest.approx(wheels, abs=RESOLUTION)


def test_a_new_driver_has_the_wheels_stopped(board, make_rig):
    assert make_rig(board).wheels() == near(0, 0)


def test_drive_sets_sign_and_magnitude(board, make_rig):
    rig = make_rig(board)
    rig.driver.drive(0.5, -0.25)
    assert rig.wheels() == near(0.5, -0.25)
    rig.driver.drive(-1, 1)
    assert rig.wheels() == near(-1, 1)
    rig.driver.drive(0.1, 0)
    assert rig.wheels() == near(0.1, 0)


@pytest.mark.parametrize(
    ("asked", "driven"),
    [
        ((3, -7), (1, -1)),
        ((math.inf, -math.inf), (1, -1)),
        ((math.nan, 0.2), (0, 0.2)),
    ],
)
def test_outputs_are_limited_to_full_speed_and_nan_is_stop(board, make_rig, asked, driven):
    rig = make_rig(board)
    rig.driver.drive(0.5, 0.5)
    rig.driver.drive(*asked)
    assert rig.wheels() == near(*driven)


def test_stop_stops_both_wheels(board, make_rig):
    rig = make_rig(board)
    rig.driver.drive(0.8, -0.6)
    rig.driver.stop()
    assert rig.wheels() == near(0, 0)
    rig.driver.stop()
    assert rig.wheels() == near(0, 0)


def test_close_stops_the_wheels_and_can_be_repeated(board, make_rig):
    rig = make_rig(board)
    rig.driver.drive(0.7, 0.7)
    rig.driver.close()
    assert rig.wheels() == near(0, 0)
    rig.driver.close()
    rig.driver.stop()
    assert rig.wheels() == near(0, 0)


def test_a_closed_driver_refuses_to_drive(board, make_rig):
    rig = make_rig(board)
    rig.driver.close()
    with pytest.raises(DriverError, match="closed"):
        rig.driver.drive(1, 1)
    assert rig.wheels() == near(0, 0)


def test_leaving_a_with_block_by_an_error_stops_the_wheels(board, make_rig):
    rig = make_rig(board)
    with pytest.raises(KeyError), rig.driver as motors:
        motors.drive(-0.4, 0.9)
        raise KeyError("the caller failed")
    assert rig.wheels() == near(0, 0)


wheel = st.floats(min_value=-1.5, max_value=1.5, allow_nan=False)
step = st.one_of(st.tuples(wheel, wheel), st.just("stop"))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(step, min_size=1, max_size=8))
def test_any_sequence_of_calls_shows_at_the_silicon(board, make_rig, steps):
    rig = make_rig(board)
    for call in steps:
        if call == "stop":
            rig.driver.stop()
            expected = (0.0, 0.0)
        else:
            rig.driver.drive(*call)
            expected = (clamp(call[0]), clamp(call[1]))
        assert rig.wheels() == near(*expected)
    rig.driver.close()
    assert rig.wheels() == near(0, 0)

"""Limits and ramping: no step exceeds the limits, every ramp ends at its target or at zero,
and the deadman still fires within the TTL plus one tick."""

from __future__ import annotations

import asyncio
import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robot.contracts.admission import CommandPath
from robot.contracts.protocol import Command
from robot.daemon import ramp
from robot.daemon.controller import TICK_S, MotionController
from tests.unit.conftest import PROPERTY, RecordingDriver, unit_floats, wait_until

rates = st.floats(min_value=0.5, max_value=50.0)
limits_strategy = st.builds(
    ramp.Limits,
    max_output=st.floats(min_value=0.05, max_value=1.0),
    acceleration=rates,
    deceleration=rates,
    max_turn=st.floats(min_value=0.05, max_value=1.0),
)
wheels = st.tuples(unit_floats, unit_floats)
EPSILON = 1e-9


def allowed_change(before: float, after: float, dt: float, limits: ramp.Limits) -> bool:
    """Whether one wheel's change obeys the rates: growth by acceleration, shrinking by
    deceleration, and a reversal only through zero."""
    if before * after < 0:
        return False
    if abs(after) > abs(before):
        return abs(after) - abs(before) <= limits.acceleration * dt + EPSILON
    return abs(before) - abs(after) <= limits.deceleration * dt + EPSILON


@PROPERTY
@given(wheels, wheels, limits_strategy, st.floats(min_value=0.001, max_value=0.1))
def test_no_step_exceeds_the_limits_and_every_ramp_ends_at_its_target(
    start: ramp.Wheels, wanted: ramp.Wheels, limits: ramp.Limits, dt: float
) -> None:
    target = ramp.limit(wanted, limits)
    assert max(abs(target[0]), abs(target[1])) <= limits.max_output + EPSILON
    assert abs(target[1] - target[0]) / 2 <= limits.max_turn + EPSILON
    current = start
    slowest = min(limits.acceleration, limits.deceleration)
    for _ in range(math.ceil(4 / (slowest * dt)) + 2):  # enough steps to cross -1..1 twice
        after = ramp.step(current, target, dt, limits)
        for wheel in (0, 1):
            assert allowed_change(current[wheel], after[wheel], dt, limits)
        current = after
        if current == target:
            break
    assert current == target


@PROPERTY
@given(wheels, limits_strategy)
def test_the_turn_limit_keeps_the_direction_of_travel(wanted: ramp.Wheels, limits: ramp.Limits):
    left, right = ramp.limit(wanted, limits)
    forward = (wanted[0] + wanted[1]) / 2
    assert (left + right) / 2 * forward >= 0  # never drives the other way


def test_unlimited_limits_change_nothing() -> None:
    assert ramp.step((0.0, 0.0), (1.0, -1.0), 0.02, ramp.Limits()) == (1.0, -1.0)
    assert ramp.limit((0.3, -0.7), ramp.Limits()) == (0.3, -0.7)


LIMITS = ramp.Limits(max_output=0.8, acceleration=4.0, deceleration=8.0)


def controller_with(driver: RecordingDriver, ttl_ms: int = 500) -> MotionController:
    return MotionController(driver, 0.6, ttl_ms, limits=LIMITS)


def test_the_first_step_is_taken_on_receipt_and_ticks_run_only_while_ramping() -> None:
    async def body() -> None:
        driver = RecordingDriver()
        controller = controller_with(driver, ttl_ms=2000)
        controller.apply(Command("forward", speed=1.0), CommandPath.MQTT)
        assert driver.output == (LIMITS.acceleration * TICK_S,) * 2  # no await yet
        await wait_until(lambda: driver.output == (0.8, 0.8))  # capped at max_output
        assert controller._tick is None  # idle: no timer but the deadman
        calls = len(driver.calls)
        await asyncio.sleep(5 * TICK_S)
        assert len(driver.calls) == calls
        controller.stop("test over")

    asyncio.run(body())


def test_a_late_tick_moves_no_further_than_a_punctual_one() -> None:
    async def body() -> None:
        driver = RecordingDriver()
        controller = controller_with(driver, ttl_ms=2000)
        controller.apply(Command("forward", speed=1.0), CommandPath.MQTT)
        first = driver.output[0]
        time.sleep(10 * TICK_S)  # the loop stalls: the next tick runs ten ticks late
        await wait_until(lambda: len(driver.calls) >= 2)
        second = driver.calls[1][1]
        assert second - first == pytest.approx(LIMITS.acceleration * TICK_S)
        controller.stop("test over")

    asyncio.run(body())


def test_a_reversal_slows_to_zero_before_it_turns() -> None:
    async def body() -> None:
        driver = RecordingDriver()
        controller = controller_with(driver, ttl_ms=2000)
        controller.apply(Command("forward", speed=0.6), CommandPath.MQTT)
        await wait_until(lambda: driver.output == (0.6, 0.6))
        controller.apply(Command("backwards", speed=0.6), CommandPath.MQTT)
        await wait_until(lambda: driver.output == (-0.6, -0.6))
        lefts = [left for kind, left, _, _ in driver.calls]
        crossing = lefts.index(-0.6) if -0.6 in lefts else len(lefts)
        assert 0.0 in lefts[:crossing]  # it passed through a stop
        controller.stop("test over")

    asyncio.run(body())


@PROPERTY
@given(st.sampled_from(["stop", "estop"]))
def test_a_stop_is_at_once_whatever_the_limits(action: str) -> None:
    async def body() -> None:
        driver = RecordingDriver()
        controller = controller_with(driver, ttl_ms=2000)
        controller.apply(Command("forward", speed=0.8), CommandPath.MQTT)
        await wait_until(lambda: driver.output == (0.8, 0.8))
        controller.apply(Command(action), CommandPath.MQTT)
        assert driver.output == (0.0, 0.0)
        assert controller._tick is None and controller._deadline is None

    asyncio.run(body())


@settings(max_examples=15, deadline=None)  # each example waits out a real TTL
@given(
    st.integers(min_value=50, max_value=150),
    st.lists(st.tuples(unit_floats, unit_floats), min_size=1, max_size=4),
)
def test_the_deadman_fires_within_the_ttl_and_one_tick_while_ramping(
    ttl_ms: int, drives: list[tuple[float, float]]
) -> None:
    # Judged by the loop's schedule, not the wall clock: a busy machine runs timers late.
    async def body() -> None:
        loop = asyncio.get_running_loop()
        driver = RecordingDriver()
        controller = controller_with(driver, ttl_ms)
        for linear, angular in drives:
            await asyncio.sleep(TICK_S / 2)
            applied = loop.time()
            controller.apply(Command("drive", linear=linear, angular=angular), CommandPath.MQTT)
        assert controller._deadline is not None
        deadline = controller._deadline.when()
        assert deadline <= applied + ttl_ms / 1000 + TICK_S
        await wait_until(lambda: controller.state.reason == "expired")
        kind, *_, at = driver.calls[-1]
        assert kind == "stop" and at >= deadline
        assert controller._tick is None

    asyncio.run(body())

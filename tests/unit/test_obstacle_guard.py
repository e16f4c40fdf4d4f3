"""The obstacle guard and the limiter chain: forward scaled down inside slow_m and refused
inside stop_m, backing away and turning allowed, a silent sensor refusing forward; the
controller running its stages after the ramp and following a limiter's new input at once;
OBSTACLE_GUARD checked in config.json."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.distance import DistanceSensor
from robot.contracts.admission import CommandPath
from robot.contracts.protocol import Command
from robot.contracts.telemetry import LimitedBy
from robot.daemon import ramp
from robot.daemon.config import ConfigError, load
from robot.daemon.controller import MotionController
from robot.daemon.daemon import open_distance_sensor
from robot.daemon.limiters import run_chain
from robot.daemon.link_limits import LinkLimiter, LinkReading, LinkSpeedLimit
from robot.daemon.obstacle_guard import CRAWL, STALE_S, GuardSettings, ObstacleGuard, watch
from tests.unit.conftest import PROPERTY, RecordingDriver, wait_until, write_config


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def guard_at(distance: float | None, clock: Clock | None = None) -> ObstacleGuard:
    guard = ObstacleGuard(0.5, 0.2, clock or Clock())
    guard.reading(distance)
    return guard


@pytest.mark.parametrize(
    ("distance", "allowed"),
    [
        (None, 1.0),  # nothing in range
        (2.0, 1.0),
        (0.5, 1.0),  # slow_m itself: not yet inside
        (0.35, 0.5),  # half way from slow_m to stop_m
        (0.21, CRAWL),  # never slower than a crawl short of stop_m
        (0.2, 0.0),
        (0.05, 0.0),
    ],
)
def test_the_forward_speed_allowed_by_distance(distance: float | None, allowed: float) -> None:
    assert guard_at(distance).max_forward() == pytest.approx(allowed)


def test_inside_stop_m_forward_is_refused_but_turning_and_backing_away_are_not() -> None:
    guard = guard_at(0.1)
    assert guard.limit((1.0, 1.0)) == ((0.0, 0.0), True)
    assert guard.limit((-0.5, 0.5)) == ((-0.5, 0.5), False)  # spinning on the spot
    assert guard.limit((-1.0, -1.0)) == ((-1.0, -1.0), False)  # backing away
    (left, right), limited = guard.limit((0.4, 0.8))  # an arc: its forward part goes
    assert limited and (left, right) == pytest.approx((-0.2, 0.2))


def test_a_sensor_silent_too_long_leaves_the_guard_blind() -> None:
    clock = Clock()
    guard = guard_at(None, clock)
    assert not guard.blind and guard.max_forward() == 1.0
    clock.now += STALE_S + 0.01
    assert guard.blind and guard.max_forward() == 0.0
    assert ObstacleGuard(0.5, 0.2, clock).blind  # before its first reading too
    assert guard.report() == {"distance_m": None, "blind": True}


distances = st.one_of(st.none(), st.floats(0, 5))


@PROPERTY
@given(distances, distances, st.tuples(st.floats(-1, 1), st.floats(-1, 1)))
def test_never_faster_forward_when_closer(
    first: float | None, second: float | None, asked: tuple[float, float]
) -> None:
    far, near = sorted((first, second), key=lambda d: -1 if d is None else -d)
    (fl, fr), _ = guard_at(far).limit(asked)
    (nl, nr), _ = guard_at(near).limit(asked)
    assert (nl + nr) / 2 <= (fl + fr) / 2 + 1e-12
    assert (nr - nl) == pytest.approx(asked[1] - asked[0])  # the turn is kept


def test_the_chain_names_the_stage_that_binds() -> None:
    link = LinkLimiter((LinkSpeedLimit(250, 0.5),), lambda: LinkReading(300))
    assert run_chain([link, guard_at(2.0)], (1.0, 1.0)) == ((0.5, 0.5), LimitedBy.LINK)
    assert run_chain([link, guard_at(0.1)], (1.0, 1.0)) == ((0.0, 0.0), LimitedBy.OBSTACLE)
    assert run_chain([link, guard_at(0.1)], (0.2, 0.2)) == ((0.0, 0.0), LimitedBy.OBSTACLE)
    assert run_chain([], (1.0, 1.0)) == ((1.0, 1.0), None)


def test_the_controller_follows_the_guard_at_once_and_ramps_up_when_it_lets_go() -> None:
    async def body() -> None:
        driver = RecordingDriver()
        guard = guard_at(2.0)
        controller = MotionController(
            driver, 0.6, 5000, limits=ramp.Limits(acceleration=4.0), limiters=[guard]
        )
        controller.apply(Command("forward", speed=1.0), CommandPath.MQTT)
        await wait_until(lambda: driver.output == (1.0, 1.0))
        assert controller.state.limited_by is None
        guard.reading(0.1)
        controller.limits_changed()  # the sensor's new reading: no tick to wait for
        assert driver.output == (0.0, 0.0) and driver.calls[-1][0] == "stop"
        assert controller.state.limited_by is LimitedBy.OBSTACLE
        guard.reading(2.0)
        controller.limits_changed()
        assert 0 < driver.output[0] < 1.0  # from where the wheels were, at the ramp's pace
        await wait_until(lambda: driver.output == (1.0, 1.0))
        assert controller.state.limited_by is None
        controller.stop(controller.state.reason)

    asyncio.run(body())


def test_a_held_controller_calls_the_board_only_when_something_changes() -> None:
    async def body() -> None:
        driver = RecordingDriver()
        guard = guard_at(0.1)
        controller = MotionController(driver, 0.6, 5000, limiters=[guard])
        controller.apply(Command("forward"), CommandPath.MQTT)
        calls = len(driver.calls)
        for _ in range(5):
            guard.reading(0.1)
            controller.limits_changed()
        assert len(driver.calls) == calls
        controller.stop(controller.state.reason)

    asyncio.run(body())


# --- OBSTACLE_GUARD in config.json ---------------------------------------------------------


def test_a_guard_loads_with_its_sensor_and_distances(tmp_path: Path) -> None:
    state = tmp_path / "sim-board.json"
    guard = {"sensor": "sim", "options": {"state_file": str(state)}, "slow_m": 0.6}
    settings = load(write_config(tmp_path, OBSTACLE_GUARD=guard), environ={})
    assert settings.obstacle_guard == GuardSettings("sim", {"state_file": str(state)}, 0.6, 0.2)
    assert load(write_config(tmp_path, OBSTACLE_GUARD={}), environ={}).obstacle_guard is None


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ([], "must be {} (no guard) or like"),
        ({"slow_m": 0.5}, "must be {} (no guard) or like"),
        ({"sensor": "lidar"}, "sensor must be one of hcsr04, sim, vl53l0x"),
        ({"sensor": "vl53l0x", "stop": 0.2}, "unknown keys ['stop']"),
        ({"sensor": "vl53l0x", "slow_m": 0.2, "stop_m": 0.5}, "need 0 < stop_m < slow_m"),
        ({"sensor": "vl53l0x", "options": []}, "options must be a JSON object"),
        (
            {"sensor": "vl53l0x", "options": {"i2c_address": "0x99"}},
            "OBSTACLE_GUARD.options.i2c_address = '0x99': must be an I2C address",
        ),
        (
            {"sensor": "hcsr04", "options": {"trigger": 5, "echo": 5}},
            "OBSTACLE_GUARD.options.echo = 5: must differ from trigger",
        ),
        ({"sensor": "hcsr04", "options": {"pin": 5}}, "OBSTACLE_GUARD.options.pin: unknown"),
    ],
)
def test_a_bad_guard_names_the_key_and_the_fix(tmp_path: Path, value: Any, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(write_config(tmp_path, OBSTACLE_GUARD=value), environ={})
    [problem] = caught.value.problems
    assert problem.startswith("OBSTACLE_GUARD")
    assert says in problem


class FailingSensor(DistanceSensor):
    """A sensor that answers ``readings`` and then raises, as a loose wire would."""

    def __init__(self, readings: list[float | None]) -> None:
        self.readings = list(readings)

    def distance_m(self) -> float | None:
        if not self.readings:
            raise OSError(121, "Remote I/O error")
        return self.readings.pop(0)


def test_a_sensor_that_fails_while_driving_stops_forward_motion() -> None:
    async def body() -> None:
        driver = RecordingDriver()
        guard = ObstacleGuard(0.5, 0.2)
        controller = MotionController(driver, 0.6, 5000, limiters=[guard])
        watching = asyncio.create_task(
            watch(FailingSensor([2.0, 2.0]), guard, controller.limits_changed)
        )
        await wait_until(lambda: not guard.blind)
        controller.apply(Command("forward", speed=1.0), CommandPath.MQTT)
        await wait_until(lambda: driver.output == (1.0, 1.0))
        # The readings stop; once the last is STALE_S old the next try stops the wheels.
        await wait_until(lambda: driver.output == (0.0, 0.0), timeout=5)
        assert guard.blind and controller.state.limited_by is LimitedBy.OBSTACLE
        watching.cancel()
        controller.stop(controller.state.reason)

    asyncio.run(body())


def test_a_guard_whose_sensor_does_not_start_leaves_the_daemon_running_blind(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No I2C bus here for a VL53L0X: the daemon starts all the same, says why, and its guard
    has no sensor, so it stays blind (forward refused) rather than guarding nothing."""
    settings = load(write_config(tmp_path, OBSTACLE_GUARD={"sensor": "vl53l0x"}), environ={})
    with open_distance_sensor(settings) as sensor:
        assert sensor is None
    assert "the distance sensor did not start" in caplog.text
    assert ObstacleGuard(0.5, 0.2).max_forward() == 0.0  # what a guard without readings allows

"""The motor controller: applied on receipt, latest wins, deadman TTL, driver failures."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from robot.contracts.admission import CommandPath
from robot.contracts.protocol import DISCRETE_ACTIONS, Command
from robot.daemon.controller import MotionController, MotionState
from robot.daemon.mixing import wheel_outputs
from tests.unit.conftest import (
    PROPERTY,
    FailingDriver,
    RecordingDriver,
    commands,
    wait_until,
)

SPEED = 0.6
FORWARD = Command("forward")
TURN = Command("drive", linear=0.5, angular=0.25)


def moving(state: MotionState) -> bool:
    return state.left != 0.0 or state.right != 0.0


def controller_on(
    driver: RecordingDriver | FailingDriver,
    ttl_ms: int = 500,
    states: list[MotionState] | None = None,
) -> MotionController:
    on_change = states.append if states is not None else (lambda state: None)
    return MotionController(driver, SPEED, ttl_ms, on_change=on_change)


def deadline_of(controller: MotionController) -> float | None:
    """When the deadman timer will fire, in loop time (None when no timer is armed)."""
    handle = controller._deadline
    return None if handle is None or handle.cancelled() else handle.when()


def apply_with_deadline(controller: MotionController, command: Command, ttl_ms: int) -> float:
    """Apply ``command``; check the deadman is armed ``ttl_ms`` after that moment; return it."""
    loop = asyncio.get_running_loop()
    before = loop.time()
    controller.apply(command, CommandPath.MQTT)
    after = loop.time()
    deadline = deadline_of(controller)
    assert deadline is not None
    assert before + ttl_ms / 1000 <= deadline <= after + ttl_ms / 1000
    return deadline


def test_a_command_is_applied_on_receipt() -> None:
    async def body() -> None:
        driver = RecordingDriver()
        controller = controller_on(driver)
        controller.apply(TURN, CommandPath.MQTT)
        # no await since apply(): the wheels already turn
        assert driver.output == wheel_outputs(TURN, SPEED)
        assert moving(controller.state)
        assert controller.state.command == TURN
        assert controller.state.reason == "command"

    asyncio.run(body())


@PROPERTY
@given(st.lists(commands(actions=(*DISCRETE_ACTIONS, "drive")), min_size=1, max_size=8))
def test_the_latest_command_wins(stream: list[Command]) -> None:
    async def body() -> None:
        driver = RecordingDriver()
        controller = controller_on(driver)
        for command in stream:
            controller.apply(command, CommandPath.MQTT)
            assert driver.output == wheel_outputs(command, SPEED)
        last = stream[-1]
        expected = (0.0, 0.0) if last.action == "stop" else wheel_outputs(last, SPEED)
        assert driver.output == expected
        assert controller.state.command == last

    asyncio.run(body())


def test_the_wheels_stop_when_the_ttl_lapses() -> None:
    ttl_ms = 50
    states: list[MotionState] = []

    async def body() -> None:
        driver = RecordingDriver()
        controller = controller_on(driver, ttl_ms, states)
        deadline = apply_with_deadline(controller, FORWARD, ttl_ms)
        assert moving(controller.state)
        await wait_until(lambda: not moving(controller.state))
        assert controller.state.reason == "expired"
        assert controller.state.command is None
        # moving first, stopped after, and the stop came no earlier than the deadline
        assert [kind for kind, *_ in driver.calls] == ["drive", "stop"]
        assert driver.stops()[0] >= deadline - 0.001
        assert deadline_of(controller) is None

    asyncio.run(body())
    assert [state.reason for state in states] == ["command", "expired"]


def test_a_stream_faster_than_the_ttl_never_stops_in_between() -> None:
    ttl_ms = 100
    ttl_s = ttl_ms / 1000

    async def body() -> None:
        loop = asyncio.get_running_loop()
        driver = RecordingDriver()
        controller = controller_on(driver, ttl_ms)
        applied: list[float] = []
        for step in range(15):  # 15 commands, ttl/5 apart: the stream outlasts the TTL 3 times
            applied.append(loop.time())
            controller.apply(
                Command("drive", linear=0.5, angular=0.1 * (step % 3)), CommandPath.MQTT
            )
            await asyncio.sleep(ttl_s / 5)
        first, last = applied[0], applied[-1]
        assert last - first > 2 * ttl_s
        for stopped_at in driver.stops():
            if first <= stopped_at <= last:
                # only a gap longer than the TTL (a stalled machine) may stop the stream
                latest = max(at for at in applied if at <= stopped_at)
                assert stopped_at - latest >= ttl_s - 0.001, "stopped while the stream was fresh"
        assert moving(controller.state) or loop.time() - last >= ttl_s - 0.001

    asyncio.run(body())


def test_a_stop_command_stops_at_once_and_disarms_the_deadman() -> None:
    ttl_ms = 50

    async def body() -> None:
        driver = RecordingDriver()
        controller = controller_on(driver, ttl_ms)
        controller.apply(FORWARD, CommandPath.MQTT)
        stop = Command("stop", id="halt")
        controller.apply(stop, CommandPath.MQTT)
        assert driver.output == (0.0, 0.0)
        assert controller.state == MotionState(
            0.0, 0.0, stop, controller.state.applied_at, "stop", "mqtt"
        )
        assert deadline_of(controller) is None
        calls = len(driver.calls)
        await asyncio.sleep(3 * ttl_ms / 1000)  # past the forward command's TTL
        assert len(driver.calls) == calls
        assert controller.state.reason == "stop"

    asyncio.run(body())


@pytest.mark.parametrize(
    ("default_ttl_ms", "command_ttl_ms", "expected_ms"),
    [
        (500, None, 500),
        (500, 50, 50),
        (50, 5000, 5000),
    ],
)
def test_the_deadman_fires_after_the_commands_own_ttl(
    default_ttl_ms: int, command_ttl_ms: int | None, expected_ms: int
) -> None:
    async def body() -> None:
        controller = controller_on(RecordingDriver(), default_ttl_ms)
        command = Command("forward", ttl_ms=command_ttl_ms)
        assert controller.ttl_ms(command) == expected_ms
        apply_with_deadline(controller, command, expected_ms)
        controller.stop("test over")
        assert deadline_of(controller) is None

    asyncio.run(body())


def test_a_short_command_ttl_expires_under_a_long_default() -> None:
    async def body() -> None:
        controller = controller_on(RecordingDriver(), ttl_ms=5000)
        controller.apply(Command("left", ttl_ms=50), CommandPath.MQTT)
        await wait_until(lambda: controller.state.reason == "expired")
        assert not moving(controller.state)

    asyncio.run(body())


def test_a_failing_driver_leaves_the_wheels_stopped() -> None:
    states: list[MotionState] = []

    async def body() -> None:
        driver = FailingDriver()
        controller = controller_on(driver, ttl_ms=50, states=states)
        controller.apply(FORWARD, CommandPath.MQTT)  # does not raise
        assert driver.stop_calls == 1
        assert controller.state.reason == "driver-error"
        assert not moving(controller.state)
        assert controller.state.command is None
        assert deadline_of(controller) is None
        await asyncio.sleep(0.15)  # past the TTL: nothing more happens
        assert driver.stop_calls == 1

    asyncio.run(body())
    assert [state.reason for state in states] == ["driver-error"]


def test_a_driver_that_cannot_even_stop_is_survived() -> None:
    class DeadDriver(FailingDriver):
        def stop(self) -> None:
            super().stop()
            raise OSError("I2C bus gone")

    async def body() -> None:
        driver = DeadDriver()
        controller = controller_on(driver)
        controller.apply(FORWARD, CommandPath.MQTT)
        controller.stop("shutdown")
        assert driver.stop_calls == 3  # once after the failed drive, twice for the stop
        assert controller.state.reason == "driver-error"

    asyncio.run(body())


def test_on_change_sees_every_new_state() -> None:
    states: list[MotionState] = []
    stop = Command("stop")

    async def body() -> None:
        controller = controller_on(RecordingDriver(), states=states)
        for command in (FORWARD, TURN, stop):
            controller.apply(command, CommandPath.MQTT)
            assert states[-1] is controller.state
        controller.stop("link-lost")
        assert states[-1] is controller.state

    asyncio.run(body())
    assert [(state.command, state.reason) for state in states] == [
        (FORWARD, "command"),
        (TURN, "command"),
        (stop, "stop"),
        (None, "link-lost"),
    ]
    assert [(state.left, state.right) for state in states] == [
        wheel_outputs(FORWARD, SPEED),
        wheel_outputs(TURN, SPEED),
        (0.0, 0.0),
        (0.0, 0.0),
    ]

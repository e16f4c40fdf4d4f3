"""Daemon.handle: a payload from the action topic either moves the wheels or is answered."""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import drivers
from robot.contracts import protocol
from robot.contracts.ratelimit import LogBudget
from robot.daemon import mixing
from robot.daemon.config import Config
from robot.daemon.daemon import REJECTION_LOG_S, Daemon
from robot.daemon.estop import EStop
from robot.daemon.freshness import StaleCommand
from tests.unit.conftest import PROPERTY, RecordingLink, command_like, commands, make_daemon

Parts = tuple[Daemon, Any, RecordingLink]


def handle(daemon: Daemon, payload: bytes) -> None:
    """Hand one payload to the daemon on a running loop, as its link would."""

    async def body() -> None:
        daemon.handle(payload)

    asyncio.run(body())


def assert_untouched(daemon: Daemon, motors: Any) -> None:
    assert motors.robot.wheels == (0.0, 0.0)
    assert daemon.controller.state.reason == "start"  # the controller never set an output


@pytest.mark.parametrize(
    ("payload", "echoed_id"),
    [
        (b"\x00\xff not json", None),
        (b'{"action": "fly", "id": "c-17"}', "c-17"),
        (b'{"action": "forward", "speed": 2, "id": "c-18"}', "c-18"),
        (b'{"action": "drive", "linear": NaN, "angular": 0, "id": "c-19"}', None),  # not JSON
        (b'{"action": "forward", "id": ""}', ""),
        (b'["forward"]', None),
        (b"[" * protocol.MAX_PAYLOAD_BYTES, None),
        (b'{"action": "forward", "id": "big", "pad": "' + b"x" * 2000 + b'"}', None),
    ],
)
def test_a_malformed_payload_is_answered_and_moves_nothing(
    daemon_parts: Parts, payload: bytes, echoed_id: str | None
) -> None:
    daemon, motors, link = daemon_parts
    handle(daemon, payload)
    assert_untouched(daemon, motors)
    [rejection] = link.messages()
    assert rejection["type"] == "rejected"
    assert rejection["reason"].strip()
    assert rejection["id"] == echoed_id
    assert rejection["kind"] == "protocol"


def test_a_valid_payload_moves_the_wheels_and_reports_the_command(daemon_parts: Parts) -> None:
    daemon, motors, link = daemon_parts
    handle(daemon, b'{"action": "left", "id": "c-20"}')
    left, right = motors.robot.wheels
    assert left < 0 < right
    [state] = link.messages()
    assert state["type"] == "state"
    assert state["command"]["id"] == "c-20"
    assert state["command"]["action"] == "left"
    assert state["wheels"] == {"left": left, "right": right}
    assert state["reason"] == "command"
    assert state["link"] == "online"
    assert state["board"] == "sim"
    assert "pose" in state


def test_a_stale_command_is_rejected_and_moves_nothing(daemon_parts: Parts) -> None:
    daemon, motors, link = daemon_parts
    sent = int(time.time() * 1000) - 60_000
    handle(daemon, json.dumps({"action": "forward", "ts": sent, "id": "old"}).encode())
    assert_untouched(daemon, motors)
    [rejection] = link.messages()
    assert rejection["type"] == "rejected"
    assert rejection["id"] == "old"
    assert "stale" in rejection["reason"]


def test_a_fresh_command_with_ts_moves_the_wheels(daemon_parts: Parts) -> None:
    daemon, motors, link = daemon_parts
    handle(daemon, json.dumps({"action": "forward", "ts": int(time.time() * 1000)}).encode())
    assert motors.robot.wheels == (daemon.config.default_speed, daemon.config.default_speed)
    assert [message["type"] for message in link.messages()] == ["state"]


def expected_to_move(daemon: Daemon, payload: bytes) -> bool:
    try:
        command = protocol.parse(payload)
        daemon.gate.check(command, daemon.controller.ttl_ms(command))
    except (protocol.ProtocolError, StaleCommand):
        return False
    if command.action in protocol.LATCH_ACTIONS:  # they stop the wheels
        return False
    if command.action in protocol.SESSION_ACTIONS:  # they move the lease, not the wheels
        return False
    if command.action == protocol.AUDIO_ACTION:  # refused: the producer applies it
        return False
    return mixing.wheel_outputs(command, daemon.config.default_speed) != (0.0, 0.0)


@PROPERTY
@given(
    st.binary(max_size=2 * protocol.MAX_PAYLOAD_BYTES)
    | command_like.map(lambda fields: json.dumps(fields).encode())
    | commands(with_ts=False).map(lambda command: command.to_json().encode())
)
def test_no_payload_makes_handle_raise_or_moves_wheels_it_should_not(
    sim_config: Config, payload: bytes
) -> None:
    daemon, motors, link = make_daemon(sim_config)
    with motors:
        should_move = expected_to_move(daemon, payload)
        handle(daemon, payload)
        assert (motors.robot.wheels != (0.0, 0.0)) == should_move
        [message] = link.messages()
        assert message["type"] in ("state", "rejected")
        if message["type"] == "rejected":
            assert_untouched(daemon, motors)
            assert message["reason"].strip()


@pytest.mark.parametrize("payload", [b'{"action": "forward"}', b'{"action": "estop"}'])
def test_the_wheels_move_before_the_report_is_sent(daemon_parts: Parts, payload: bytes) -> None:
    daemon, motors, link = daemon_parts
    drive = motors.drive
    reports_at_drive: list[int] = []

    def drive_and_count(*args: Any, **kwargs: Any) -> None:
        reports_at_drive.append(len(link.messages("state")))
        drive(*args, **kwargs)

    motors.drive = drive_and_count
    motors.stop = lambda: drive_and_count(0.0, 0.0)
    seen: list[int] = []

    async def body() -> None:
        daemon.handle(payload)
        seen.append(len(link.messages("state")))  # the handler has returned
        await asyncio.sleep(0)  # one turn of the loop
        seen.append(len(link.messages("state")))

    asyncio.run(body())
    assert reports_at_drive == [0]
    assert seen == [0, 1]  # reported after the handler, on the next turn of the loop


def test_a_forward_and_an_estop_in_one_loop_turn_report_one_moment_each(
    daemon_parts: Parts,
) -> None:
    daemon, _, link = daemon_parts

    async def body() -> None:
        daemon.handle(b'{"action": "forward", "id": "f"}')
        daemon.handle(b'{"action": "estop", "id": "e"}')

    asyncio.run(body())
    states = [message for message in link.messages() if message["type"] == "state"]
    assert states, "nothing reported"
    for state in states:  # never "moving, by a command, while latched"
        assert not (state["estop"]["latched"] and state["reason"] == "command"), state
    assert states[-1]["reason"] == "estop" and states[-1]["estop"]["latched"]
    assert states[-1]["wheels"] == {"left": 0.0, "right": 0.0}


def test_the_rejection_log_line_is_budgeted_but_every_rejection_is_reported(
    sim_config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    now = [0.0]
    motors = drivers.load("sim")
    link = RecordingLink()
    estop = EStop(Path(tempfile.mkdtemp(prefix="estop-")))
    budget = LogBudget(REJECTION_LOG_S, lambda: now[0])
    daemon = Daemon(sim_config, motors, link, estop=estop, rejection_log=budget)  # type: ignore[arg-type]

    async def flood(count: int) -> None:
        for n in range(count):
            daemon.handle(json.dumps({"action": "fly", "id": f"f{n}"}).encode())

    with motors, caplog.at_level(logging.INFO, logger="robot.daemon.daemon"):
        asyncio.run(flood(2000))
        now[0] = REJECTION_LOG_S - 0.001  # the window's last moment: still held back
        asyncio.run(flood(1))
        now[0] = REJECTION_LOG_S  # its end: one line, saying how many it held back
        asyncio.run(flood(1))
    lines = [r.getMessage() for r in caplog.records if "rejected command" in r.getMessage()]
    assert len(lines) == 2, lines
    assert "more since" not in lines[0] and lines[1].endswith("(2000 more since)")
    rejections = [m for m in link.messages() if m.get("type") == "rejected"]
    assert [m["id"] for m in rejections] == [f"f{n}" for n in range(2000)] + ["f0", "f0"]
    assert motors.robot.wheels == (0.0, 0.0)

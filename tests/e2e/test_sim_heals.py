"""The simulator heals as the robot's service does, the wheels stay stopped while the link is
down, the robot drives again soon after an outage, and the service's last line of defence
(`robot stop-motors`) reaches the simulated board after the daemon was killed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from sim.aws.turn import stun_binding
from sim.robot.board import read_state
from sim.stack import StackError
from tests.support.http import post
from tests.support.stack import LONG_FORWARD, RecordingStack
from tests.support.turn_client import allocate

DRIVE_AGAIN_WITHIN_S = 5.0


def publish_status(stack: RecordingStack) -> tuple[int, dict]:
    status, _, body = post(
        stack.url + "/publish", {"action": "stop", "id": uuid.uuid4().hex[:8]}, stack.auth_headers()
    )
    return status, body


def wait_for_status(stack: RecordingStack, wanted: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status, body = publish_status(stack)
        if status == wanted:
            return body
        assert time.monotonic() < deadline, f"still {status} {body} after {timeout} s"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def healing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RecordingStack, list]]:
    said: list[str] = []
    with RecordingStack(tmp_path_factory.mktemp("heal"), port=0, console=said.append) as stack:
        yield stack, said


def test_a_killed_daemon_is_restarted_and_publish_is_503_meanwhile(healing) -> None:
    stack, said = healing
    assert publish_status(stack)[0] == 200
    daemon = stack.daemon
    assert daemon is not None
    daemon.kill()
    # The broker publishes the daemon's last will at once: no robot, no 200.
    body = wait_for_status(stack, 503, timeout=5)
    assert body["error"] == "robot unavailable" and "not connected" in body["reason"]
    wait_for_status(stack, 200, timeout=20)
    assert stack.daemon is not daemon and stack.daemon.poll() is None
    assert any("daemon exited (code -9); starting it again" in line for line in said), said
    assert any("daemon is running again" in line for line in said), said


def test_a_killed_broker_is_restarted_and_the_robot_drives_again(healing) -> None:
    stack, said = healing
    assert stack.broker is not None and stack.broker.pid is not None
    port = stack.broker.port
    os.kill(stack.broker.pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not any("broker is running again" in line for line in said):
        assert time.monotonic() < deadline, said
        time.sleep(0.1)
    assert any("broker exited (code -9); starting it again" in line for line in said), said
    assert stack.broker.port == port
    wait_for_status(stack, 200, timeout=10)
    stack.drive_until_moving("after-broker-restart")


def test_a_killed_turn_server_is_restarted_and_its_credentials_stay_good(healing) -> None:
    stack, said = healing
    assert stack.turn is not None and stack.turn.pid is not None
    port, handed_out = stack.turn.port, stack.turn.ice_server()
    os.kill(stack.turn.pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not any("TURN server is running again" in line for line in said):
        assert time.monotonic() < deadline, said
        time.sleep(0.1)
    assert any("TURN server exited (code -9); starting it again" in line for line in said), said
    assert stack.turn.port == port and stun_binding(stack.turn.host, port)
    # The same secret: a credential handed out before the restart still allocates.
    relayed = asyncio.run(allocate(stack.turn, handed_out["Username"], handed_out["Password"]))
    assert relayed[1] > 0


def test_sigkill_mid_drive_then_stop_motors_stops_the_board(stack: RecordingStack) -> None:
    stack.drive_until_moving("before-sigkill")
    left, right = read_state(stack.wheels_file)
    assert left > 0 and right > 0
    assert stack.daemon is not None
    stack.daemon.kill()
    stack.daemon.wait(10)
    # Like a real board, the simulated one keeps its last output when its process dies...
    assert read_state(stack.wheels_file) == (left, right)
    # ...until the service runs its last line of defence.
    done = subprocess.run(
        [sys.executable, "-m", "robot.cli", "stop-motors", "--config", str(stack.config_path)],
        capture_output=True,
        text=True,
        timeout=30,
        env={k: v for k, v in os.environ.items() if k != "MOTOR_DRIVER"},
    )
    assert done.returncode == 0, done.stderr
    assert "motors stopped (board sim)" in done.stdout
    assert read_state(stack.wheels_file) == (0.0, 0.0)
    stack.start_daemon()


@pytest.mark.parametrize("outage_s", [2, 20, 60])
def test_after_an_outage_of_any_length_the_robot_drives_again_within_5_s(
    stack: RecordingStack, outage_s: float
) -> None:
    stack.drive_until_moving(f"before-{outage_s}")
    assert stack.broker is not None
    stack.broker.stop()
    samples = []
    ends = time.monotonic() + outage_s
    while time.monotonic() < ends:
        samples.append(read_state(stack.wheels_file))
        time.sleep(0.25)
    # The daemon stops the wheels as soon as its link drops, and nothing moves them after.
    assert samples[-1] == (0.0, 0.0)
    assert all(sample == (0.0, 0.0) for sample in samples[4:]), samples[:8]

    stack.broker.restart()
    back = time.monotonic()
    command_id = f"after-{outage_s}"
    stack.drain_telemetry()
    while True:
        with contextlib.suppress(Exception):  # the stack's own client may still reconnect
            stack.publish_command((LONG_FORWARD % command_id).encode())
        try:
            stack.wait_for_telemetry(
                lambda m: (m.get("command") or {}).get("id") == command_id, timeout=0.2
            )
            break
        except StackError:
            assert time.monotonic() - back < DRIVE_AGAIN_WITHIN_S + 5, "never drove again"
    took = time.monotonic() - back
    print(f"outage {outage_s} s: driving again {took:.2f} s after the broker returned")
    assert took <= DRIVE_AGAIN_WITHIN_S
    stack.publish_command(b'{"action": "stop"}')

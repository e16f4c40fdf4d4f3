"""End to end: HTTP POST /publish through the real Lambda, broker and daemon, to the sim board."""

from __future__ import annotations

import json
import uuid

import pytest

from robot.contracts import protocol
from sim.aws import dev_identity
from tests.support.http import get, post, request
from tests.support.stack import RecordingStack

BAD_BODIES = [
    "",
    "not json",
    "[]",
    '{"action": "fly"}',
    '{"action": "forward", "speed": 2}',
    '{"action": "forward", "speed": NaN}',
    '{"action": "drive", "linear": Infinity, "angular": 0}',
    '{"action": "drive", "linear": 0.5}',
    '{"action": "forward", "extra": 1}',
    '{"action": "forward", "ttl_ms": 999999}',
    '{"action": "forward", "id": ""}',
    json.dumps({"action": "forward", "id": "x" * (protocol.MAX_PAYLOAD_BYTES + 1)}),
]


def pose(stack: RecordingStack) -> dict:
    status, _, body = get(stack.url + "/telemetry", stack.auth_headers())
    assert status == 200
    return body["pose"]


def barrier(stack: RecordingStack) -> list[dict]:
    """Every telemetry message up to the daemon's handling of a fresh ``stop`` command.

    Commands are handled in order, so anything sent before the stop has been handled (and
    reported) by the time the stop's own report arrives.
    """
    marker = f"barrier-{uuid.uuid4().hex[:8]}"
    status, _, _ = post(
        stack.url + "/publish", {"action": "stop", "id": marker}, stack.auth_headers()
    )
    assert status == 200
    seen: list[dict] = []

    def is_marker(message: dict) -> bool:
        seen.append(message)
        return (message.get("command") or {}).get("id") == marker

    stack.wait_for_telemetry(is_marker, timeout=5)
    return seen


def test_forward_moves_the_simulated_robot_and_the_ttl_stops_it(stack: RecordingStack) -> None:
    barrier(stack)
    before = pose(stack)
    status, headers, body = post(
        stack.url + "/publish", {"action": "forward", "ttl_ms": 300}, stack.auth_headers()
    )
    assert status == 200
    assert "Access-Control-Allow-Origin" not in headers  # the console's origin only
    command_id = body["command"]["id"]
    assert body["topic"] == f"{stack.thing_name}/action"

    moving = stack.wait_for_telemetry(
        lambda m: (m.get("command") or {}).get("id") == command_id, timeout=5
    )
    assert moving["wheels"]["left"] > 0 and moving["wheels"]["right"] > 0
    stopped = stack.wait_for_telemetry(lambda m: m.get("reason") == "expired", timeout=5)
    assert stopped["wheels"] == {"left": 0.0, "right": 0.0}

    after = pose(stack)
    assert after["x"] > before["x"] + 0.01  # it drove forward (heading 0 is +x)
    # The simulated right wheel runs 2 % fast: the true heading drifts a little to the left,
    # where the dead-reckoned estimate, from equal outputs, goes straight.
    assert 0 < after["heading"] - before["heading"] < 0.05
    assert stopped["odometry"]["source"] == "estimated"
    assert stopped["odometry"]["heading"] == moving["odometry"]["heading"]
    assert stopped["odometry"]["x"] > moving["odometry"]["x"]


def test_left_spins_counter_clockwise_in_place(stack: RecordingStack) -> None:
    barrier(stack)
    before = pose(stack)
    status, _, _ = post(
        stack.url + "/publish", {"action": "left", "ttl_ms": 200}, stack.auth_headers()
    )
    assert status == 200
    stack.wait_for_telemetry(lambda m: m.get("reason") == "expired", timeout=5)
    after = pose(stack)
    assert (after["x"], after["y"]) == pytest.approx((before["x"], before["y"]), abs=1e-3)
    turned = (after["heading"] - before["heading"] + 3.1416) % 6.2832 - 3.1416
    assert turned > 0.05


@pytest.mark.parametrize("body", BAD_BODIES)
def test_malformed_requests_get_400_and_move_nothing(stack: RecordingStack, body: str) -> None:
    barrier(stack)
    before = pose(stack)
    status, headers, answer = post(stack.url + "/publish", body, stack.auth_headers())
    assert status == 400, answer
    assert answer["error"] and answer["reason"]
    assert "Access-Control-Allow-Origin" not in headers  # the console's origin only
    seen = barrier(stack)
    assert all(m.get("wheels", {}).get("left", 0) == 0 for m in seen), seen
    assert pose(stack) == before


def test_a_malformed_mqtt_command_is_rejected_with_its_reason(stack: RecordingStack) -> None:
    stack.drain_telemetry()
    stack.publish_command(b'{"action": "forward", "speed": -1, "id": "bad-1"}')
    rejected = stack.wait_for_telemetry(lambda m: m.get("type") == "rejected", timeout=5)
    assert rejected["id"] == "bad-1"
    assert "speed" in rejected["reason"]
    assert stack.daemon is not None and stack.daemon.poll() is None  # still running


def test_cors_preflight(stack: RecordingStack) -> None:
    status, headers, _ = request("OPTIONS", stack.url + "/publish")
    assert status in (200, 204)
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert "Authorization" in headers["Access-Control-Allow-Headers"]


def test_telemetry_needs_a_token_that_may_watch_the_robot(stack: RecordingStack) -> None:
    assert get(stack.url + "/telemetry")[0] == 401
    assert get(stack.url + "/telemetry", {"Authorization": "Bearer a.b.c"})[0] == 401
    other = dev_identity.dev_token(stack.state_dir, "other-robot", scopes=["robot:view"])
    assert get(stack.url + "/telemetry", {"Authorization": f"Bearer {other}"})[0] == 403
    view = dev_identity.dev_token(stack.state_dir, stack.thing_name, scopes=["robot:view"])
    status, _, body = get(stack.url + "/telemetry", {"Authorization": f"Bearer {view}"})
    assert status == 200 and "pose" in body

"""`robot sim --robots N`: several daemons, each with its own certificate, topics, camera and
video channel, on one broker behind one front; the dev token drives them all, the fleet view
lists them all, and the healing supervisor restarts any of them."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from robot.contracts import tokens
from sim.aws import dev_identity
from sim.robot.board import read_state
from tests.support.datachannel import ConsolePeer
from tests.support.http import get, post
from tests.support.stack import RecordingStack

SECOND = "sim-robot-2"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RecordingStack, list]]:
    said: list[str] = []
    with RecordingStack(
        tmp_path_factory.mktemp("fleet"), port=0, robots=2, console=said.append
    ) as stack:
        yield stack, said


def test_each_robot_has_its_own_certificate_topics_and_files(fleet) -> None:
    stack, _ = fleet
    assert [robot.name for robot in stack.robots] == ["sim-robot", SECOND]
    folders = set()
    for robot in stack.robots:
        config = json.loads(robot.config_path.read_text())
        assert config["IOT_THINGNAME"] == robot.name
        cert = x509.load_pem_x509_certificate(Path(config["CERTIFICATE_PATH"]).read_bytes())
        common_name = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        assert common_name == robot.name  # the broker's ACL and KVS credentials key on it
        assert config["VIDEO_OPTIONS"]["state_file"] == str(robot.wheels_file)
        folders.add(robot.folder)
    assert len(folders) == 2


def test_driving_one_robot_leaves_the_other_still(fleet) -> None:
    stack, _ = fleet
    second = stack.robots[1]
    command_id = uuid.uuid4().hex[:8]
    command = {"action": "forward", "ttl_ms": 2000, "id": command_id}
    status, _, body = post(f"{stack.url}/robots/{SECOND}/publish", command, stack.auth_headers())
    assert status == 200, body
    moving = stack.wait_for_telemetry(
        lambda m: (m.get("command") or {}).get("id") == command_id and m["wheels"]["left"] > 0,
        timeout=5,
        robot=second,
    )
    assert moving["reason"] == "command"
    assert read_state(second.wheels_file)[0] > 0
    # Meanwhile the first robot's board has not moved, and its telemetry says so.
    assert read_state(stack.wheels_file) == (0, 0)
    first = stack.wait_for_telemetry(lambda m: m.get("type") == "state", timeout=2)
    assert first["wheels"] == {"left": 0, "right": 0} and first.get("command") is None


def test_publish_without_a_name_still_drives_the_first_robot(fleet) -> None:
    stack, _ = fleet
    command_id = uuid.uuid4().hex[:8]
    command = {"action": "left", "ttl_ms": 1000, "id": command_id}
    status, _, body = post(stack.url + "/publish", command, stack.auth_headers())
    assert status == 200, body
    stack.wait_for_telemetry(
        lambda m: (m.get("command") or {}).get("id") == command_id and m["wheels"]["right"] > 0,
        timeout=5,
    )


def test_an_unknown_robot_is_refused(fleet) -> None:
    stack, _ = fleet
    status, _, body = post(
        f"{stack.url}/robots/sim-robot-3/publish", {"action": "stop"}, stack.auth_headers()
    )
    assert status in (403, 503), body  # outside the token's robots, and not simulated


def test_the_fleet_view_lists_both_online(fleet) -> None:
    stack, _ = fleet
    status, _, body = get(stack.url + "/robots", stack.auth_headers())
    assert status == 200, body
    assert [(robot["name"], robot["link"]) for robot in body["robots"]] == [
        ("sim-robot", "online"),
        (SECOND, "online"),
    ]


def test_the_viewer_route_reaches_the_second_robots_channel(fleet) -> None:
    stack, _ = fleet
    # Only the first robot's channel exists from the start (as the template makes only that
    # one): the second's producer creates its own; until then there is none (404), and
    # while it is CREATING it is not active yet (503).
    deadline = time.monotonic() + 30
    while True:
        status, _, body = post(f"{stack.url}/robots/{SECOND}/viewer", {}, stack.auth_headers())
        if status not in (404, 503) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == 200, body
    assert body["robot"] == SECOND
    assert f"channel/{SECOND}/" in body["channelArn"]
    status, _, own = post(f"{stack.url}/viewer", {}, stack.auth_headers())
    assert status == 200 and own["channelArn"] != body["channelArn"]


def test_the_supervisor_restarts_the_second_robots_daemon(fleet) -> None:
    stack, said = fleet
    second = stack.robots[1]
    process = second.process
    assert process is not None
    process.kill()
    deadline = time.monotonic() + 30
    while not any(line == f"the daemon of {SECOND} is running again" for line in said):
        assert time.monotonic() < deadline, said
        time.sleep(0.1)
    assert second.process is not process and second.process.poll() is None
    assert stack.daemon is not None and stack.daemon.poll() is None  # the first one untouched


def test_a_token_without_a_robots_claim_is_refused_on_a_fleet_robots_data_channel(fleet) -> None:
    """As the authorizer rules for REST (FLEET_TOKENS false): such a token reaches the stack's
    own robot only, even with a viewer session for another robot of the fleet in hand."""
    stack, _ = fleet
    claimless = tokens.mint(
        dev_identity.dev_key(stack.state_dir),
        "mallory",
        ["robot:drive"],
        600,
        issuer=dev_identity.DEV_ISSUER,
        audience=dev_identity.DEV_AUDIENCE,
    )
    streaming = ("ready", "streaming")
    for robot in stack.robots:
        stack.wait_for_telemetry(
            lambda message: (message.get("video") or {}).get("state") in streaming, 30, robot
        )

    async def hello(robot: str) -> dict:
        viewer = dev_identity.dev_token(stack.state_dir, robot, scopes=["robot:view"])
        async with ConsolePeer(stack.url, viewer, robot=robot) as console:
            return await console.hello(claimless)

    refused = asyncio.run(hello(SECOND))
    assert refused["type"] == "denied" and SECOND in refused["reason"]
    own = asyncio.run(hello(stack.thing_name))
    assert own["type"] == "welcome" and own["drive"] is True

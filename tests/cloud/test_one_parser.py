"""One parser on both paths: the publish Lambda (through boto3's real request path) and the
robot daemon give every payload the same verdict, raw bytes included."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.publish import app
from robot.contracts import protocol
from robot.contracts.protocol import MAX_PAYLOAD_BYTES
from robot.contracts.refusals import RefusalKind
from robot.daemon import config as robot_config
from sim.aws import iot_data, sigv4
from tests.unit.conftest import command_like, commands, make_daemon, write_config

# An administrator: every action is allowed, so only the payload decides.
ADMIN = {"sub": "alice", "scopes": "robot:admin", "robots": "r1"}

# Objects as JSON in every way a sender could write them: UTF-8, with a byte order mark,
# UTF-16/32, a key repeated; and bytes of any kind.
# Without the fields whose judges differ on purpose: ts (the robot's stale-command gate), and
# operator and received_ts (the endpoint stamps them and refuses them from a sender).
OWN_RULES = {"ts", *protocol.ENDPOINT_FIELDS}
objects = commands(with_ts=False).map(lambda command: command.to_dict()) | command_like.filter(
    lambda fields: not OWN_RULES & set(fields)
)
encodings = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "latin-1"])


@st.composite
def written(draw: st.DrawFn) -> bytes:
    text = json.dumps(draw(objects), ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()) and text != "{}":
        key = draw(st.sampled_from(["action", "speed", "id"]))
        text = text[:-1] + f', "{key}": ' + json.dumps(draw(st.sampled_from(["stop", 0.5]))) + "}"
    try:
        return text.encode(draw(encodings))
    except UnicodeEncodeError:
        return text.encode()


payloads = written() | st.binary(max_size=MAX_PAYLOAD_BYTES + 8)


@pytest.fixture
def both_paths(loopback, tmp_path):
    endpoint = app.PublishEndpoint(
        app.Settings(robot_name="r1"),
        iot_data.boto3_client(
            loopback.url, iot_data.issue_credentials(sigv4.CredentialStore()), "eu-west-1"
        ),
    )
    config = robot_config.load(write_config(tmp_path), environ={})
    return endpoint, config, loopback


def lambda_verdict(endpoint: app.PublishEndpoint, body: bytes) -> bool:
    event = {
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
        "pathParameters": None,
        "requestContext": {"authorizer": ADMIN},
    }
    result = endpoint(event, None)
    assert result["statusCode"] in (200, 400), result
    return result["statusCode"] == 200


def robot_verdict(config: robot_config.Config, body: bytes) -> bool:
    """Whether the daemon took the payload (a refusal is reported on its telemetry topic)."""
    daemon, motors, link = make_daemon(config)

    async def handle() -> None:
        daemon.handle(body)

    with motors:
        asyncio.run(handle())
    # An answer to a hand-over nobody asked for is the lease's verdict (the robot's state at
    # the time), not the parser's.
    return not [m for m in link.messages("rejected") if m["kind"] != RefusalKind.LEASE]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payloads)
def test_the_lambda_and_the_robot_give_every_payload_the_same_verdict(both_paths, body):
    endpoint, config, data_plane = both_paths
    sent_before = len(data_plane.requests)
    accepted = lambda_verdict(endpoint, body)
    assert len(data_plane.requests) == sent_before + accepted
    assert robot_verdict(config, body) == accepted


@pytest.mark.parametrize(
    "body",
    [
        b'{"action": "stop", "action": "forward"}',
        b"\xef\xbb\xbf" + b'{"action": "forward"}',
        '{"action": "forward"}'.encode("utf-16"),
        '{"action": "forward"}'.encode("utf-32"),
        b'{"action": "forward", "speed": null}',
    ],
)
def test_what_the_robot_used_to_accept_is_refused_on_both_paths(both_paths, body):
    endpoint, config, _ = both_paths
    assert not lambda_verdict(endpoint, body)
    assert not robot_verdict(config, body)

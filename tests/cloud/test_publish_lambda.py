"""The publish Lambda: validation, the fleet route, the scope check, CORS, and boto3's real
request path into a loopback IoT data-plane endpoint."""

from __future__ import annotations

import base64
import json
import urllib.parse

import pytest

from cloud.publish import app
from robot.contracts import access, protocol
from sim.aws import iot_data, sigv4

DRIVER = {"sub": "alice", "scopes": "robot:drive", "robots": "*"}
NOW_MS = 1_800_000_000_000  # the endpoint's clock in these tests
STAMPS = {"operator": "alice", "received_ts": NOW_MS}
ADMIN = {"sub": "root", "scopes": "robot:admin", "robots": "*"}


@pytest.fixture
def data_plane(loopback):
    """A local HTTP server where IoT Core's data plane would be: it records every publish."""
    return loopback


@pytest.fixture
def publish(data_plane):
    """The publish endpoint, its iot-data client (boto3's real request path) on data_plane."""
    client = iot_data.boto3_client(data_plane.url, any_credentials(), "eu-west-1")
    return app.PublishEndpoint(
        app.Settings(robot_name="r1", fleet_prefix="r"), client, clock=lambda: NOW_MS / 1000
    )


def any_credentials() -> sigv4.IssuedCredentials:
    """Credentials to sign with: the loopback data plane records requests, it checks none."""
    return iot_data.issue_credentials(sigv4.CredentialStore())


def published(data_plane) -> list[tuple[str, dict]]:
    return [
        (urllib.parse.unquote(r.path.split("?")[0].removeprefix("/topics/")), json.loads(r.body))
        for r in data_plane.requests
    ]


def event(
    body: str | None = '{"action": "forward"}',
    context: dict | None = DRIVER,
    name: str | None = None,
    **extra,
) -> dict:
    return {
        "body": body,
        "pathParameters": None if name is None else {"name": name},
        "requestContext": {"authorizer": context},
        **extra,
    }


def answer(result: dict) -> tuple[int, dict]:
    assert "Access-Control-Allow-Origin" not in result["headers"]  # the console's origin only
    assert result["headers"]["Content-Type"] == "application/json"
    return result["statusCode"], json.loads(result["body"])


def test_a_valid_command_is_published_with_an_id(data_plane, publish):
    status, body = answer(publish(event('{"action": "forward", "speed": 0.5}'), None))
    assert status == 200
    assert body["topic"] == "r1/action"
    assert body["command"]["action"] == "forward" and body["command"]["speed"] == 0.5
    assert len(body["command"]["id"]) == 16
    assert published(data_plane) == [("r1/action", body["command"])]
    assert "qos=1" in data_plane.requests[0].path


def test_the_fleet_route_publishes_to_the_named_robot(data_plane, publish):
    status, body = answer(publish(event(name="r7"), None))
    assert status == 200 and body["topic"] == "r7/action"
    assert [topic for topic, _ in published(data_plane)] == ["r7/action"]


@pytest.mark.parametrize("prefix", ["", "warehouse-"])
def test_robots_outside_the_fleet_are_403_and_get_nothing(data_plane, prefix):
    client = iot_data.boto3_client(data_plane.url, any_credentials(), "eu-west-1")
    endpoint = app.PublishEndpoint(app.Settings(robot_name="r1", fleet_prefix=prefix), client)
    status, body = answer(endpoint(event(name="r7"), None))
    assert (status, body["error"]) == (403, "forbidden") and "fleet" in body["reason"]
    assert answer(endpoint(event(name="r1"), None))[0] == 200
    if prefix:
        assert answer(endpoint(event(name="warehouse-3"), None))[0] == 200
    assert [topic for topic, _ in published(data_plane)] == ["r1/action"] + (
        ["warehouse-3/action"] if prefix else []
    )


def test_the_fleet_prefix_comes_from_the_environment():
    settings = app.Settings.from_environ({"ROBOT_NAME": "a", "FLEET_NAME_PREFIX": "bot-"})
    assert (settings.robot_name, settings.fleet_prefix) == ("a", "bot-")
    assert app.Settings.from_environ({}).fleet_prefix == ""


def test_a_base64_body_is_decoded(data_plane, publish):
    encoded = base64.b64encode(b'{"action": "stop", "id": "x1"}').decode()
    status, body = answer(publish(event(encoded, isBase64Encoded=True), None))
    assert status == 200 and body["command"] == {"action": "stop", "id": "x1", **STAMPS}


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"body": None}, "no body"),
        ({"body": "{not json"}, "not valid JSON"),
        ({"body": '{"action": "fly"}'}, "unknown action"),
        ({"body": '{"action": "drive", "linear": 2, "angular": 0}'}, "linear"),
        ({"body": "!!", "isBase64Encoded": True}, "base64"),
        ({"name": "r1/../r2"}, "robot name"),
        ({"name": "#"}, "robot name"),
        ({"name": "+"}, "robot name"),
        ({"name": ""}, "robot name"),
    ],
)
def test_malformed_requests_are_400_and_publish_nothing(data_plane, publish, kwargs, reason):
    status, body = answer(publish(event(**kwargs), None))
    assert status == 400 and body["error"] == "invalid command"
    assert reason in body["reason"]
    assert data_plane.requests == []


@pytest.mark.parametrize(
    ("context", "name"),
    [
        (None, None),  # no authorizer context at all
        ({}, None),
        ({"sub": "x", "scopes": "robot:drive"}, None),  # no robots entry
        ({"sub": "x", "scopes": "email", "robots": "*"}, None),
        ({"sub": "x", "scopes": "robot:drive", "robots": "r2"}, None),
        ({"sub": "x", "scopes": "robot:drive", "robots": "r2,r3"}, "r1"),
        ({"sub": "x", "scopes": "robot:admin", "robots": "r2"}, "r1"),
    ],
)
def test_requests_the_context_does_not_allow_are_403(data_plane, publish, context, name):
    status, body = answer(publish(event(context=context, name=name), None))
    assert status == 403 and body["error"] == "forbidden"
    assert data_plane.requests == []


def test_admin_actions_need_the_admin_scope(data_plane, publish, monkeypatch):
    # No admin-only command exists yet; pretend "stop" were one (e.g. clearing an e-stop).
    monkeypatch.setattr(access, "ADMIN_ACTIONS", frozenset({"stop"}))
    status, body = answer(publish(event('{"action": "stop"}'), None))
    assert status == 403 and "robot:admin" in body["reason"]
    assert answer(publish(event('{"action": "forward"}'), None))[0] == 200
    assert answer(publish(event('{"action": "stop"}', context=ADMIN), None))[0] == 200
    assert [cmd["action"] for _, cmd in published(data_plane)] == ["forward", "stop"]


def test_a_robot_list_in_the_context_is_honoured(data_plane, publish):
    context = {"sub": "x", "scopes": "robot:drive", "robots": "r1,r7"}
    assert answer(publish(event(context=context), None))[0] == 200
    assert answer(publish(event(context=context, name="r7"), None))[0] == 200
    assert [topic for topic, _ in published(data_plane)] == ["r1/action", "r7/action"]


def test_an_iot_failure_is_502(data_plane, publish):
    data_plane.reply = (403, {"message": "not authorized"})
    status, body = answer(publish(event(), None))
    assert status == 502 and "IoT Core" in body["error"]


def test_publish_command_keeps_its_plain_signature():
    sent = []
    topic, command = app.publish_command(
        '{"action": "left"}', "bot", lambda t, p: sent.append((t, p))
    )
    assert topic == "bot/action" and command.id
    assert sent == [("bot/action", command.to_json().encode())]
    with pytest.raises(access.AccessDenied):
        app.publish_command(
            '{"action": "left"}',
            "bot",
            sent.append,
            access.Grants("x", frozenset({"robot:drive"}), frozenset({"r1"})),
        )


def test_every_command_is_stamped_with_its_operator_and_receive_time(data_plane, publish):
    status, body = answer(publish(event('{"action": "estop", "id": "e1"}'), None))
    assert status == 200
    [(topic, sent)] = published(data_plane)
    assert topic == "r1/action"
    assert sent == body["command"] == {"action": "estop", "id": "e1", **STAMPS}
    assert protocol.parse(json.dumps(sent)).operator == "alice"  # the robot reads it back


@pytest.mark.parametrize("field", ["operator", "received_ts"])
def test_a_sender_cannot_set_the_endpoints_stamps(data_plane, publish, field):
    body = json.dumps({"action": "forward", field: "mallory" if field == "operator" else 1})
    status, answer_body = answer(publish(event(body), None))
    assert status == 400 and "set by the endpoint" in answer_body["reason"]
    assert data_plane.requests == []


@pytest.mark.parametrize(
    ("ahead_ms", "status"),
    [(0, 200), (protocol.MAX_CLOCK_SKEW_MS, 200), (protocol.MAX_CLOCK_SKEW_MS + 1, 400)],
)
def test_a_ts_ahead_of_the_endpoints_clock_is_refused(data_plane, publish, ahead_ms, status):
    body = json.dumps({"action": "forward", "ts": NOW_MS + ahead_ms})
    code, answer_body = answer(publish(event(body), None))
    assert code == status
    if status == 400:
        assert "in the future" in answer_body["reason"]
        assert data_plane.requests == []


def test_clearing_an_estop_needs_the_admin_scope(data_plane, publish):
    body = '{"action": "clear_estop"}'
    assert answer(publish(event(body), None))[0] == 403
    assert answer(publish(event(body, context=ADMIN), None))[0] == 200
    assert [sent["operator"] for _, sent in published(data_plane)] == ["root"]


def test_a_subject_the_protocol_cannot_carry_is_cut_to_one_it_can(data_plane, publish):
    context = {**DRIVER, "sub": "x\n" + "y" * 300}
    assert answer(publish(event(context=context), None))[0] == 200
    [(_, sent)] = published(data_plane)
    assert sent["operator"] == "x" + "y" * (protocol.MAX_OPERATOR_LENGTH - 1)
    protocol.parse(json.dumps(sent))

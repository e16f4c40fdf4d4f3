"""The guest-link Lambda: an admin's POST /robots/{name}/guests, a token signed with the key
in Secrets Manager (moto), and what the real authorizer then lets that token do."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import jwt
import pytest

from cloud.authorizer.app import Unauthorized
from cloud.guests import app
from robot.contracts import access, tokens
from tests.cloud.conftest import ARN_PREFIX, ROBOT, authorize, authorizer_env

SECRET = "robot/guest-key"
ADMIN = access.Grants("root", frozenset({access.SCOPE_ADMIN}), frozenset({ROBOT}))
DRIVER = access.Grants("alice", frozenset({access.SCOPE_DRIVE}), None)


@pytest.fixture
def secret_key(aws) -> Any:
    key = tokens.generate_private_key("ES256")
    boto3.client("secretsmanager").create_secret(Name=SECRET, SecretString=tokens.private_pem(key))
    return key


@pytest.fixture
def endpoint(secret_key) -> app.GuestEndpoint:
    settings = app.Settings(
        secret_id=SECRET,
        robot_name=ROBOT,
        fleet_prefix="r",
        issuer="https://idp.example.test/",
        audience="robot-api",
    )
    return app.GuestEndpoint(settings, boto3.client("secretsmanager"))


@pytest.fixture
def guest_authorizer(configure_authorizer, secret_key) -> Any:
    return configure_authorizer(authorizer_env(secret_key))


def ask(
    endpoint: app.GuestEndpoint,
    grants: access.Grants = ADMIN,
    robot: str = ROBOT,
    **body: Any,
) -> tuple[int, dict[str, Any]]:
    event = {
        "pathParameters": {"name": robot},
        "headers": {"Host": "abc123.execute-api.eu-west-1.amazonaws.com"},
        "requestContext": {
            "authorizer": grants.context(),
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "stage": "prod",
        },
        "body": json.dumps({"name": "Ann", **body}),
    }
    answer = endpoint(event, None)
    return answer["statusCode"], json.loads(answer["body"])


def test_an_admin_gets_a_view_only_link_for_one_hour_by_default(endpoint) -> None:
    status, body = ask(endpoint)
    assert status == 200
    assert body["url"] == (
        f"https://abc123.execute-api.eu-west-1.amazonaws.com/prod/#token={body['token']}"
    )
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["guest"] == "Ann"
    assert claims["sub"] == body["subject"] and body["subject"].startswith("guest:Ann:")
    assert claims["scope"] == access.SCOPE_VIEW
    assert claims["robots"] == [ROBOT]
    assert claims["exp"] - claims["iat"] == 3600 == body["expires"] - claims["iat"]
    assert (body["robot"], body["drive"]) == (ROBOT, False)


def test_the_link_is_signed_with_the_secrets_key_and_opens_only_watching(
    endpoint, guest_authorizer
) -> None:
    _, body = ask(endpoint)
    answer = authorize(guest_authorizer, body["token"], f"POST/robots/{ROBOT}/viewer")
    (statement,) = answer["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    routes = {resource.removeprefix(ARN_PREFIX) for resource in statement["Resource"]}
    assert routes == {"GET/robots", f"POST/robots/{ROBOT}/viewer", "POST/viewer"}
    # no publish, no guests route, no other robot; robot:view only, so no clear_estop either
    grants = access.Grants.from_context(answer["context"])
    with pytest.raises(access.AccessDenied):
        access.check_command(grants, ROBOT, "forward")
    with pytest.raises(access.AccessDenied):
        access.check_view(grants, "r2")


def test_a_driving_guest_drives_but_never_clears_an_estop_or_invites(
    endpoint, guest_authorizer
) -> None:
    _, body = ask(endpoint, drive=True, ttl_s=600)
    grants = access.Grants.from_context(authorize(guest_authorizer, body["token"])["context"])
    access.check_command(grants, ROBOT, "forward")
    access.check_command(grants, ROBOT, "request_control")
    for action in ("clear_estop", "take_control"):
        with pytest.raises(access.AccessDenied):
            access.check_command(grants, ROBOT, action)
    with pytest.raises(access.AccessDenied):
        access.check_admin(grants, ROBOT)


def test_an_expired_link_is_refused(endpoint, guest_authorizer) -> None:
    endpoint.clock = lambda: time.time() - 7200  # minted two hours ago, for one
    _, body = ask(endpoint)
    with pytest.raises(Unauthorized):  # API Gateway answers 401
        authorize(guest_authorizer, body["token"], f"POST/robots/{ROBOT}/viewer")


@pytest.mark.parametrize(
    ("grants", "robot", "reason"),
    [
        (DRIVER, ROBOT, "robot:admin"),
        (ADMIN, "r2", 'may not administer robot "r2"'),
        (ADMIN, "elsewhere", "not of this stack's fleet"),
    ],
)
def test_only_an_admin_of_the_robot_invites(endpoint, grants, robot, reason) -> None:
    status, body = ask(endpoint, grants, robot)
    assert status == 403 and reason in body["reason"]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"ttl_s": 24 * 3600 + 1}, "from 60 to 86400"),
        ({"ttl_s": 30}, "from 60 to 86400"),
        ({"ttl_s": "1h"}, "whole number"),
        ({"drive": "yes"}, "true or false"),
        ({"name": ""}, "printable"),
        ({"name": "x" * 65}, "at most 64"),
        ({"admin": True}, "unknown field"),
    ],
)
def test_a_bad_request_is_refused_with_its_reason(endpoint, fields, reason) -> None:
    status, body = ask(endpoint, **fields)
    assert status == 400 and reason in body["reason"]


def test_the_longest_link_lives_24_hours(endpoint) -> None:
    _, body = ask(endpoint, ttl_s=24 * 3600)
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 24 * 3600


def test_the_key_is_read_once_per_container(endpoint) -> None:
    reads = []
    real = endpoint.secrets.get_secret_value

    def counted(**kwargs: Any) -> Any:
        reads.append(kwargs)
        return real(**kwargs)

    endpoint.secrets.get_secret_value = counted
    ask(endpoint)
    ask(endpoint, name="Bo")
    assert reads == [{"SecretId": SECRET}]


def test_a_missing_secret_is_a_502_and_no_key_a_501(aws) -> None:
    settings = app.Settings(secret_id="nope", robot_name=ROBOT)
    status, _ = ask(app.GuestEndpoint(settings, boto3.client("secretsmanager")))
    assert status == 502
    status, _ = ask(app.GuestEndpoint(app.Settings(robot_name=ROBOT), None))
    assert status == 501


def test_two_guests_of_one_name_are_two_operators(endpoint) -> None:
    assert ask(endpoint)[1]["subject"] != ask(endpoint)[1]["subject"]

"""sim/aws/authorization.py (API Gateway's authorization step for the simulator) and
sim/aws/dev_identity.py."""

from __future__ import annotations

import stat

import pytest

from robot.contracts import tokens
from sim.aws import authorization, dev_identity
from tests.cloud.conftest import ARN_PREFIX

ARN = ARN_PREFIX + "POST/robots/r1/publish"


def allow(resource, action="execute-api:Invoke", effect="Allow") -> dict:
    return {"Effect": effect, "Action": action, "Resource": resource}


def answer_with(*statements, context=None, principal="p"):
    def handler(event, _):
        handler.events.append(event)
        return {
            "principalId": principal,
            "context": context or {"sub": "p"},
            "policyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
        }

    handler.events = []
    return handler


def test_method_arn_has_api_gateways_shape():
    assert (
        authorization.method_arn("post", "/robots/r1/publish?x=1")
        == "arn:aws:execute-api:local:000000000000:sim/sim/POST/robots/r1/publish"
    )
    assert (
        authorization.method_arn(
            "POST", "/publish", region="eu-west-1", account="1", api_id="a", stage="prod"
        )
        == "arn:aws:execute-api:eu-west-1:1:a/prod/POST/publish"
    )


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer x"},
        {"Authorization": "Token a.b.c"},
        {"X-Token": "Bearer a.b.c"},
    ],
)
def test_a_missing_or_malformed_header_is_401_without_calling_the_authorizer(headers):
    handler = answer_with(allow("*"))
    result = authorization.authorize(headers, ARN, handler)
    assert (result.status, result.body) == (401, {"message": "Unauthorized"})
    assert "Access-Control-Allow-Origin" not in result.headers  # as the template's default
    assert handler.events == []


def test_the_header_name_is_case_insensitive_and_the_event_is_a_token_event():
    handler = answer_with(allow(ARN), context={"sub": "p", "n": 1})
    result = authorization.authorize({"authorization": "Bearer a.b.c"}, ARN, handler)
    assert result.allowed and result.context == {"sub": "p", "n": 1, "principalId": "p"}
    assert handler.events == [
        {"type": "TOKEN", "authorizationToken": "Bearer a.b.c", "methodArn": ARN}
    ]


@pytest.mark.parametrize(
    ("statements", "status"),
    [
        ([allow(ARN)], 200),
        ([allow([ARN_PREFIX + "POST/publish", ARN])], 200),
        ([allow(ARN_PREFIX + "*")], 200),
        ([allow(ARN_PREFIX + "POST/robots/*/publish")], 200),
        ([allow(ARN_PREFIX + "POST/robots/r?/publish")], 200),
        ([allow(ARN_PREFIX + "POST/robots/r??/publish")], 403),
        ([allow(ARN_PREFIX + "POST/publish")], 403),  # another route only
        ([allow(ARN_PREFIX + "GET/*")], 403),
        ([allow(ARN.replace("eu-west-1", "us-east-1"))], 403),
        ([allow(ARN, action="execute-api:*")], 200),
        ([allow(ARN, action="*")], 200),
        ([allow(ARN, action="EXECUTE-API:Invoke")], 200),
        ([allow(ARN, action="execute-api:ManageConnections")], 403),
        ([allow(ARN_PREFIX + "*"), allow(ARN, effect="Deny")], 403),  # explicit Deny wins
        ([allow(ARN, effect="Deny"), allow(ARN)], 403),
        ([allow(ARN_PREFIX + "*"), allow(ARN_PREFIX + "POST/publish", effect="Deny")], 200),
        ([], 403),
    ],
)
def test_policies_are_evaluated_as_api_gateway_does(statements, status):
    result = authorization.authorize(
        {"Authorization": "Bearer a.b.c"}, ARN, answer_with(*statements)
    )
    assert result.status == status
    assert result.allowed == (status == 200)
    if status == 403:
        assert "not authorized" in result.body["message"] and result.context is None


def test_a_single_statement_object_is_accepted():
    assert authorization.evaluate({"Statement": allow(ARN)}, ARN) == "Allow"
    assert authorization.evaluate({"Statement": allow("[a]*")}, "[a]xyz") == "Allow"
    assert authorization.evaluate({"Statement": allow("[a]*")}, "axyz") is None


@pytest.mark.parametrize(
    "answer",
    [
        {"policyDocument": {"Statement": [allow(ARN)]}},  # no principalId
        {"principalId": "p", "policyDocument": {"Statement": [{"Effect": "Allow"}]}},
        {"principalId": "p", "policyDocument": {"Statement": [{**allow(ARN), "NotAction": "x"}]}},
        {"principalId": "p", "policyDocument": {"Statement": [allow(ARN, effect="Maybe")]}},
        {
            "principalId": "p",
            "policyDocument": {"Statement": [allow(ARN)]},
            "context": {"nested": {"a": 1}},
        },
        {"principalId": "p"},
    ],
)
def test_a_malformed_authorizer_answer_is_500(answer):
    result = authorization.authorize({"Authorization": "Bearer a.b.c"}, ARN, lambda e, c: answer)
    assert result.status == 500 and result.body == {"message": None}


def test_authorizer_errors_map_to_401_or_500():
    def unauthorized(event, context):
        raise Exception("Unauthorized")

    def broken(event, context):
        raise RuntimeError("boom")

    assert (
        authorization.authorize({"Authorization": "Bearer a.b.c"}, ARN, unauthorized).status == 401
    )
    assert authorization.authorize({"Authorization": "Bearer a.b.c"}, ARN, broken).status == 500


def test_front_authorizer_has_the_fronts_shape():
    front = authorization.front_authorizer(answer_with(allow(ARN)))
    assert front({"Authorization": "Bearer a.b.c"}, ARN) == (None, {"sub": "p", "principalId": "p"})
    assert front({}, ARN) == (401, {"message": "Unauthorized"})


def test_the_dev_key_is_made_once_and_private(tmp_path):
    first = dev_identity.dev_key(tmp_path)
    path = tmp_path / dev_identity.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = dev_identity.dev_key(tmp_path)
    assert tokens.public_pem(first) == tokens.public_pem(again)
    assert tokens.public_pem(dev_identity.dev_key(tmp_path / "other")) != tokens.public_pem(first)


@pytest.fixture
def dev(tmp_path):
    return dev_identity.dev_identity(tmp_path, robot="simbot")


@pytest.fixture
def dev_authorizer(dev, configure_authorizer):
    """The real authorizer, configured as the simulator configures it."""
    return configure_authorizer(dev.environ)


def test_the_dev_token_drives_the_sim_robot_through_the_real_authorizer(dev, dev_authorizer):
    assert set(dev.environ) == {"JWT_ISSUER", "JWT_AUDIENCE", "JWT_PUBLIC_KEY", "ROBOT_NAME"}
    headers = {"Authorization": dev.authorization}
    own = authorization.authorize(
        headers, authorization.method_arn("POST", "/publish"), dev_authorizer
    )
    assert own.allowed and own.context == {
        "sub": dev_identity.DEV_SUBJECT,
        "scopes": "robot:drive",
        "robots": "simbot",
        "principalId": dev_identity.DEV_SUBJECT,
    }
    by_name = authorization.authorize(
        headers, authorization.method_arn("POST", "/robots/simbot/publish"), dev_authorizer
    )
    assert by_name.allowed
    other = authorization.authorize(
        headers, authorization.method_arn("POST", "/robots/otherbot/publish"), dev_authorizer
    )
    assert other.status == 403


def test_tokens_from_other_keys_or_issuers_are_refused_by_the_sim(
    dev, dev_authorizer, tmp_path, keys
):
    foreign = dev_identity.dev_token(tmp_path / "elsewhere", "simbot")  # another dev key
    operator = tokens.mint(keys["ES256"], "alice", ["robot:admin"], 60)  # operator issuer
    for token in (foreign, operator):
        result = authorization.authorize(
            {"Authorization": f"Bearer {token}"},
            authorization.method_arn("POST", "/publish"),
            dev_authorizer,
        )
        assert result.status == 401


def test_the_dev_token_with_admin_scope_is_still_limited_to_the_sim_robot(
    dev, dev_authorizer, tmp_path
):
    token = dev_identity.dev_token(tmp_path, "simbot", scopes=["robot:admin"])
    headers = {"Authorization": f"Bearer {token}"}
    assert authorization.authorize(
        headers, authorization.method_arn("POST", "/publish"), dev_authorizer
    ).allowed
    assert not authorization.authorize(
        headers, authorization.method_arn("POST", "/robots/x/publish"), dev_authorizer
    ).allowed


def test_answers_are_cached_per_token_until_the_cache_time_runs_out():
    calls: list[str] = []
    now = [0.0]

    def handler(event, context):
        calls.append(event["authorizationToken"])
        if event["authorizationToken"] == "Bearer refused":
            raise Exception("Unauthorized")
        return {"principalId": "op", "policyDocument": {"Statement": []}}

    cached_handler = authorization.cached(handler, seconds=60, clock=lambda: now[0])
    for token in ("Bearer a", "Bearer a", "Bearer b", "Bearer a"):
        cached_handler({"authorizationToken": token}, None)
    assert calls == ["Bearer a", "Bearer b"]
    now[0] = 61.0  # past the cache time: asked again
    cached_handler({"authorizationToken": "Bearer a"}, None)
    assert calls[-1] == "Bearer a" and len(calls) == 3
    for _ in range(2):  # a refusal is not kept
        with pytest.raises(Exception, match="Unauthorized"):
            cached_handler({"authorizationToken": "Bearer refused"}, None)
    assert calls.count("Bearer refused") == 2

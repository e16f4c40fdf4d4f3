"""The JWT authorizer with real signatures: key sources, claims checks, and policies that
allow exactly what the scopes allow."""

from __future__ import annotations

import json
import logging
import time

import boto3
import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.authorizer import app
from robot.contracts import tokens, verify
from sim.aws.authorization import evaluate
from tests.cloud.conftest import (
    ARN_PREFIX,
    AUDIENCE,
    ISSUER,
    ROBOT,
    authorize,
    authorizer_env,
    claims,
)

# Requests a caller might make: (method, resource path after the stage).
REQUESTS = [
    ("POST", "publish"),
    ("POST", "robots/r1/publish"),
    ("POST", "robots/r2/publish"),
    ("POST", "robots/zed/publish"),
    ("GET", "publish"),
    ("DELETE", "robots/r1/publish"),
    ("POST", "admin/keys"),
    ("GET", "robots"),
    ("POST", "viewer"),
    ("POST", "robots/r1/viewer"),
    ("POST", "robots/r2/viewer"),
    ("GET", "viewer"),
]


def expected(scopes: set[str], robots: set[str] | None, method: str, path: str) -> bool:
    """The rules, restated independently of cloud.authorizer.policy."""
    if "robot:admin" in scopes and robots is None:
        return True
    parts = path.split("/")
    view_scopes = {"robot:view", "robot:drive", "robot:admin"}
    if (method, path) == ("GET", "robots"):  # the fleet list: any robot, any way to watch
        return bool(scopes & view_scopes) and robots != set()
    if method != "POST" or parts[-1] not in ("publish", "viewer"):
        return False
    # Watching needs robot:view, robot:drive or robot:admin; driving one of the last two.
    needed = {"robot:drive", "robot:admin"} | ({"robot:view"} if parts[-1] == "viewer" else set())
    if not scopes & needed:
        return False
    if len(parts) == 1:
        return robots is None or ROBOT in robots
    if len(parts) == 3 and parts[0] == "robots":
        return robots is None or parts[1] in robots
    return False


def allowed_requests(answer: dict) -> set[tuple[str, str]]:
    return {
        (method, path)
        for method, path in REQUESTS
        if evaluate(answer["policyDocument"], f"{ARN_PREFIX}{method}/{path}") == "Allow"
    }


@pytest.mark.parametrize("alg", ["ES256", "RS256", "RS512"])
def test_each_algorithm_with_a_pem_key(configure_authorizer, keys, make_token, alg):
    module = configure_authorizer(authorizer_env(keys[alg]))
    answer = authorize(module, make_token(alg))
    assert answer["principalId"] == "alice"
    # No robots claim and no fleet tokens: the stack's own robot only.
    assert answer["context"] == {"sub": "alice", "scopes": "robot:drive", "robots": ROBOT}
    assert answer["policyDocument"]["Statement"] == [
        {
            "Action": "execute-api:Invoke",
            "Effect": "Allow",
            "Resource": [
                ARN_PREFIX + "GET/robots",
                ARN_PREFIX + "POST/publish",
                ARN_PREFIX + "POST/robots/r1/publish",
                ARN_PREFIX + "POST/viewer",
                ARN_PREFIX + "POST/robots/r1/viewer",
            ],
        }
    ]


def test_the_one_line_public_key_form_is_accepted(configure_authorizer, keys, make_token):
    line = tokens.public_key_line(tokens.public_pem(keys["ES256"]))
    assert "\n" not in line and "BEGIN" not in line
    module = configure_authorizer(authorizer_env(keys["ES256"], JWT_PUBLIC_KEY=line))
    assert authorize(module, make_token())["principalId"] == "alice"


@pytest.mark.parametrize(
    ("scope_claims", "robots"),
    [
        ({"scope": "robot:drive"}, None),
        ({"scope": "robot:drive"}, ["r1"]),
        ({"scope": "robot:drive"}, ["r2"]),
        ({"scope": "robot:drive"}, []),
        ({"scope": "robot:admin"}, None),
        ({"scope": "robot:admin"}, ["r2", "zed"]),
        ({"scope": "openid email"}, None),
        ({"scope": ""}, None),
        ({"scope": None, "scp": ["robot:drive", "email"]}, ["r1"]),
        ({"scope": None, "scp": ["robot:admin"]}, None),
        ({"scope": None}, None),
        ({"scope": "robot:view"}, None),
        ({"scope": "robot:view"}, ["r2"]),
        ({"scope": "robot:view robot:drive"}, ["r1"]),
    ],
)
def test_policy_allows_exactly_what_the_scopes_allow(authorizer, make_token, scope_claims, robots):
    extra = {} if robots is None else {"robots": robots}
    answer = authorize(authorizer, make_token(**scope_claims, **extra))
    raw = scope_claims.get("scope") or " ".join(scope_claims.get("scp") or [])
    want = {
        (m, p)
        for m, p in REQUESTS
        if expected(set(raw.split()), None if robots is None else set(robots), m, p)
    }
    assert allowed_requests(answer) == want


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    scopes=st.sets(
        st.sampled_from(["robot:view", "robot:drive", "robot:admin", "robot:read", "email"])
    ),
    robots=st.none() | st.sets(st.sampled_from(["r1", "r2", "zed", "other"]), max_size=3),
    as_scp=st.booleans(),
)
def test_policy_matches_the_rules_for_any_grant(authorizer, make_token, scopes, robots, as_scp):
    scope = {"scope": None, "scp": sorted(scopes)} if as_scp else {"scope": " ".join(scopes)}
    extra = {} if robots is None else {"robots": sorted(robots)}
    answer = authorize(authorizer, make_token(**scope, **extra))
    assert allowed_requests(answer) == {
        (m, p) for m, p in REQUESTS if expected(scopes, robots, m, p)
    }
    statements = answer["policyDocument"]["Statement"]
    if not scopes & {"robot:view", "robot:drive", "robot:admin"} or robots == set():
        assert statements == [
            {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": ARN_PREFIX + "*"}
        ]


def test_the_policy_covers_every_route_not_just_the_requested_one(authorizer, make_token):
    # A complete policy is what makes API Gateway's per-token cache correct.
    token = make_token(robots=["r1", "r2"])
    first = authorize(authorizer, token, route="POST/robots/r2/publish")
    second = authorize(authorizer, token, route="POST/publish")
    assert first == second
    assert allowed_requests(first) == {
        ("GET", "robots"),
        ("POST", "publish"),
        ("POST", "robots/r1/publish"),
        ("POST", "robots/r2/publish"),
        ("POST", "viewer"),
        ("POST", "robots/r1/viewer"),
        ("POST", "robots/r2/viewer"),
    }


@pytest.mark.parametrize(
    ("field", "offset", "allowed"),
    [
        ("exp", -10, True),  # expired 10 s ago: inside the leeway
        ("exp", -90, False),
        ("nbf", 10, True),  # valid in 10 s: a slightly fast clock is tolerated
        ("nbf", 90, False),
    ],
)
def test_exp_and_nbf_have_a_small_leeway(authorizer, make_token, field, offset, allowed):
    token = make_token(**{field: int(time.time()) + offset})
    if allowed:
        assert authorize(authorizer, token)["principalId"] == "alice"
    else:
        with pytest.raises(app.Unauthorized):
            authorize(authorizer, token)


def test_jwks_keys_are_fetched_once_and_cached(configure_authorizer, keys, make_token, loopback):
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(keys["ES256"].public_key()))
    loopback.reply = (200, {"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "ES256"}]})
    env = authorizer_env(keys["ES256"], JWKS_URL=loopback.url + "/.well-known/jwks.json")
    del env["JWT_PUBLIC_KEY"]
    module = configure_authorizer(env)
    for _ in range(5):
        assert authorize(module, make_token(headers={"kid": "k1"}))["principalId"] == "alice"
    assert [r.path for r in loopback.requests] == ["/.well-known/jwks.json"]


def jwks_environment(keys, loopback) -> dict[str, str]:
    """The authorizer's environment with the ES256 test key served as kid "k1" from a JWKS."""
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(keys["ES256"].public_key()))
    loopback.reply = (200, {"keys": [{**jwk, "kid": "k1"}]})
    env = authorizer_env(keys["ES256"], JWKS_URL=loopback.url + "/jwks")
    del env["JWT_PUBLIC_KEY"]
    return env


def test_jwks_unknown_kid_and_unreachable_endpoint_are_denied(
    configure_authorizer, keys, make_token, loopback, other_key
):
    env = jwks_environment(keys, loopback)
    module = configure_authorizer(env)
    with pytest.raises(app.Unauthorized):
        authorize(module, make_token(key=other_key, headers={"kid": "k2"}))
    env["JWKS_URL"] = "http://127.0.0.1:9/jwks"  # discard port: nothing listens
    module = configure_authorizer(env)
    with pytest.raises(app.Unauthorized):
        authorize(module, make_token(headers={"kid": "k1"}))


def test_key_from_secrets_manager(aws, configure_authorizer, keys, make_token):
    boto3.client("secretsmanager").create_secret(
        Name="robot/jwt-public-key", SecretString=tokens.public_pem(keys["RS256"])
    )
    env = authorizer_env(keys["RS256"], JWT_PUBLIC_KEY_SECRET_ID="robot/jwt-public-key")
    del env["JWT_PUBLIC_KEY"]
    module = configure_authorizer(env)
    assert authorize(module, make_token("RS512"))["principalId"] == "alice"


def test_a_secret_key_is_read_once_then_refreshed_after_a_while(keys):
    reads = []
    now = [1000.0]
    pem = tokens.public_pem(keys["ES256"])
    resolve = verify.secret_key("id", lambda sid: reads.append(sid) or pem, clock=lambda: now[0])
    first = resolve("t")
    resolve("t")
    now[0] += verify.SECRET_REFRESH_SECONDS + 1
    resolve("t")
    assert reads == ["id", "id"]
    assert first.public_numbers() == keys["ES256"].public_key().public_numbers()


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"JWT_ISSUER": ISSUER, "JWT_AUDIENCE": AUDIENCE},
        {
            "JWT_ISSUER": ISSUER,
            "JWT_AUDIENCE": AUDIENCE,
            "JWKS_URL": "https://x/jwks",
            "JWT_PUBLIC_KEY_SECRET_ID": "s",
        },
        {"JWT_ISSUER": ISSUER, "JWT_AUDIENCE": AUDIENCE, "JWKS_URL": "http://idp.example/jwks"},
        {"JWT_AUDIENCE": AUDIENCE, "JWKS_URL": "https://x/jwks"},
    ],
)
def test_an_incomplete_configuration_is_refused(env):
    with pytest.raises(verify.ConfigError):
        verify.from_environment(env)


def test_a_misconfigured_authorizer_denies_and_says_why(
    configure_authorizer, make_token, caplog, monkeypatch
):
    monkeypatch.setattr(app, "_authorizer", None)  # as in a fresh container
    monkeypatch.setenv("JWT_ISSUER", ISSUER)
    for name in ("JWT_AUDIENCE", "JWKS_URL", "JWT_PUBLIC_KEY", "JWT_PUBLIC_KEY_SECRET_ID"):
        monkeypatch.delenv(name, raising=False)
    with caplog.at_level(logging.ERROR), pytest.raises(app.Unauthorized):
        authorize(app.handler, make_token())
    assert "JWT_AUDIENCE" in caplog.text


def test_the_token_never_reaches_the_log(authorizer, make_token, other_key, caplog):
    good, forged = make_token(), make_token(key=other_key)
    with caplog.at_level(logging.DEBUG):
        authorize(authorizer, good)
        with pytest.raises(app.Unauthorized):
            authorize(authorizer, forged)
    assert caplog.records  # allowed and denied requests are logged...
    for token in (good, forged):  # ...without the token or its signature
        assert token not in caplog.text and token.rsplit(".", 1)[1] not in caplog.text


def test_the_claims_fixture_is_accepted_as_is(authorizer, make_token):
    # Guards the attack suite: its tokens differ from this one in one respect only.
    assert claims()["iss"] == ISSUER
    assert authorize(authorizer, make_token(), bearer="bearer ")["principalId"] == "alice"


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://idp.example/jwks", True),
        ("http://localhost:8080/jwks", True),
        ("http://127.0.0.1/jwks", True),
        ("http://[::1]:9000/jwks", True),
        ("http://localhost.attacker.example/jwks", False),
        ("http://127.0.0.1.attacker.example/jwks", False),
        ("http://localhost@attacker.example/jwks", False),
        ("https://user@idp.example/jwks", False),
        ("http://idp.example/jwks", False),
        ("https:///jwks", False),
        ("ftp://localhost/jwks", False),
        ("http://localhost:notaport/jwks", False),
    ],
)
def test_the_jwks_url_is_checked_by_parsing_it(url, accepted):
    if accepted:
        verify.check_jwks_url(url)
    else:
        with pytest.raises(verify.ConfigError):
            verify.check_jwks_url(url)


def test_an_attacker_chosen_kid_is_not_logged(
    configure_authorizer, keys, make_token, loopback, caplog
):
    module = configure_authorizer(jwks_environment(keys, loopback))
    kid = "k2\ninjected: admin logged in"
    with caplog.at_level(logging.DEBUG), pytest.raises(app.Unauthorized):
        authorize(module, make_token(headers={"kid": kid}))
    assert "denied" in caplog.text and "injected" not in caplog.text


def test_a_logged_reason_escapes_what_the_sender_wrote(authorizer, caplog):
    # A reason can quote the sender (here: a claim name PyJWT names); escaped, no new line.
    with caplog.at_level(logging.INFO), pytest.raises(app.Unauthorized):
        authorize(authorizer, "a.b.c", bearer="Bearer ")
    assert all("\n" not in record.getMessage() for record in caplog.records)
    assert app._reason(ValueError("x\ny\u202e")) == "ValueError: 'x\\ny\\u202e'"


@pytest.mark.parametrize(
    ("fleet", "robots", "reaches"),
    [
        (None, None, {"r1"}),
        ("false", None, {"r1"}),
        ("true", None, None),  # any robot
        (None, ["r2"], {"r2"}),
        ("true", ["r2"], {"r2"}),
    ],
)
def test_a_token_without_robots_reaches_only_the_stacks_robot_unless_fleet_tokens(
    configure_authorizer, keys, make_token, fleet, robots, reaches
):
    env = authorizer_env(keys["ES256"], **({} if fleet is None else {"FLEET_TOKENS": fleet}))
    extra = {} if robots is None else {"robots": robots}
    answer = authorize(configure_authorizer(env), make_token(**extra))
    want = {(m, p) for m, p in REQUESTS if expected({"robot:drive"}, reaches, m, p)}
    assert allowed_requests(answer) == want
    assert ("POST", "robots/zed/publish") in want or reaches is not None


def test_without_a_robot_of_its_own_a_stack_needs_fleet_tokens_or_robots_claims(
    configure_authorizer, keys, make_token
):
    env = authorizer_env(keys["ES256"], ROBOT_NAME="")
    assert allowed_requests(authorize(configure_authorizer(env), make_token())) == set()
    with pytest.raises(verify.ConfigError, match="FLEET_TOKENS"):
        configure_authorizer(authorizer_env(keys["ES256"], FLEET_TOKENS="yes"))


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov", "aws-iso-b"])
def test_every_partition_is_accepted(configure_authorizer, keys, make_token, partition):
    arn = ARN_PREFIX.replace("arn:aws:", f"arn:{partition}:") + "POST/publish"
    answer = configure_authorizer(authorizer_env(keys["ES256"]))(
        {"type": "TOKEN", "authorizationToken": "Bearer " + make_token(), "methodArn": arn},
        None,
    )
    assert evaluate(answer["policyDocument"], arn) == "Allow"


@pytest.mark.parametrize("partition", ["", "aws*", "AWS", "aws-", "azure"])
def test_anything_but_a_partition_is_refused(configure_authorizer, keys, make_token, partition):
    arn = ARN_PREFIX.replace("arn:aws:", f"arn:{partition}:") + "POST/publish"
    with pytest.raises(app.Unauthorized):
        configure_authorizer(authorizer_env(keys["ES256"]))(
            {"type": "TOKEN", "authorizationToken": "Bearer " + make_token(), "methodArn": arn},
            None,
        )

"""Forged, expired, mis-scoped and malformed tokens: every one is denied."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.authorizer import app
from robot.contracts import access, tokens
from sim.aws import authorization
from tests.cloud.conftest import ARN_PREFIX, authorize, claims


def b64(data: bytes | dict) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned(alg: str, signature: str = "") -> str:
    return f"{b64({'alg': alg, 'typ': 'JWT'})}.{b64(claims(scope='robot:admin'))}.{signature}"


def hs256_with(secret: bytes) -> str:
    """The classic confusion attack: HMAC keyed with the (public) verification key."""
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(claims(scope='robot:admin'))}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def tampered(token: str) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{b64(claims(scope='robot:admin'))}.{signature}"


def relabeled(token: str, alg: str) -> str:
    _, payload, signature = token.split(".")
    return f"{b64({'alg': alg, 'typ': 'JWT'})}.{payload}.{signature}"


# Each case: a function of (make_token, keys, other_key) -> the Authorization header value.
INVALID = {
    "alg none, no signature": lambda mk, k, o: "Bearer " + unsigned("none"),
    "alg none, some signature": lambda mk, k, o: "Bearer " + unsigned("none", "AAAA"),
    "alg NONE": lambda mk, k, o: "Bearer " + unsigned("NONE", "AAAA"),
    "HS256 keyed with the public key PEM": lambda mk, k, o: (
        "Bearer " + hs256_with(tokens.public_pem(k["ES256"]).encode())
    ),
    "HS256 keyed with the one-line public key": lambda mk, k, o: (
        "Bearer " + hs256_with(tokens.public_key_line(tokens.public_pem(k["ES256"])).encode())
    ),
    "signed by another key": lambda mk, k, o: "Bearer " + mk(key=o, scope="robot:admin"),
    "RSA-signed, EC key trusted": lambda mk, k, o: "Bearer " + mk("RS256"),
    "payload swapped after signing": lambda mk, k, o: "Bearer " + tampered(mk()),
    "ES256 relabeled RS256": lambda mk, k, o: "Bearer " + relabeled(mk(), "RS256"),
    "ES256 relabeled HS256": lambda mk, k, o: "Bearer " + relabeled(mk(), "HS256"),
    "ES384 (not accepted)": lambda mk, k, o: (
        "Bearer " + jwt.encode(claims(), ec.generate_private_key(ec.SECP384R1()), algorithm="ES384")
    ),
    "forger's key announced by jku": lambda mk, k, o: (
        "Bearer " + mk(key=o, headers={"jku": "https://evil.example/jwks", "kid": "evil"})
    ),
    "unknown critical header": lambda mk, k, o: (
        "Bearer " + mk(headers={"crit": ["exp-x"], "exp-x": 1})
    ),
    "expired an hour ago": lambda mk, k, o: "Bearer " + mk(exp=claims()["iat"] - 3600),
    "not valid for an hour": lambda mk, k, o: "Bearer " + mk(nbf=claims()["iat"] + 3600),
    "exp as a string": lambda mk, k, o: "Bearer " + mk(exp="99999999999"),
    "wrong issuer": lambda mk, k, o: "Bearer " + mk(iss="https://evil.example/"),
    "issuer with trailing space": lambda mk, k, o: "Bearer " + mk(iss=claims()["iss"] + " "),
    "wrong audience": lambda mk, k, o: "Bearer " + mk(aud="another-api"),
    "audience list without ours": lambda mk, k, o: "Bearer " + mk(aud=["a", "b"]),
    "no audience": lambda mk, k, o: "Bearer " + mk(aud=None),
    "no issuer": lambda mk, k, o: "Bearer " + mk(iss=None),
    "no expiry": lambda mk, k, o: "Bearer " + mk(exp=None),
    "no subject": lambda mk, k, o: "Bearer " + mk(sub=None),
    "empty subject": lambda mk, k, o: "Bearer " + mk(sub=""),
    "subject not a string": lambda mk, k, o: "Bearer " + mk(sub=42),
    "scope not a string": lambda mk, k, o: "Bearer " + mk(scope=7),
    "scp with a non-string": lambda mk, k, o: "Bearer " + mk(scope=None, scp=["robot:drive", 1]),
    "scp item holding two scopes": lambda mk, k, o: (
        "Bearer " + mk(scope=None, scp=["robot:drive robot:admin"])
    ),
    "lives past the longest lifetime": lambda mk, k, o: (
        "Bearer " + mk(exp=claims()["iat"] + access.MAX_TOKEN_LIFETIME_SECONDS + 3600)
    ),
    "no iat and lives too long": lambda mk, k, o: (
        "Bearer " + mk(iat=None, exp=claims()["iat"] + access.MAX_TOKEN_LIFETIME_SECONDS + 3600)
    ),
    "robots as a wildcard": lambda mk, k, o: "Bearer " + mk(robots=["*"]),
    "robots with a slash": lambda mk, k, o: "Bearer " + mk(robots=["r1/../r2"]),
    "robots not a list": lambda mk, k, o: "Bearer " + mk(robots={"r1": True}),
    "too many robots": lambda mk, k, o: (
        "Bearer " + mk(robots=[f"r{i}" for i in range(access.MAX_ROBOTS_PER_TOKEN + 1)])
    ),
    "payload is a JSON list": lambda mk, k, o: (
        "Bearer " + jwt.api_jws.encode(b'["robot:admin"]', k["ES256"], algorithm="ES256")
    ),
    "missing Bearer": lambda mk, k, o: mk(),
    "Basic scheme": lambda mk, k, o: "Basic " + mk(),
    "Bearer without a token": lambda mk, k, o: "Bearer ",
    "two spaces": lambda mk, k, o: "Bearer  " + mk(),
    "token then junk": lambda mk, k, o: "Bearer " + mk() + " x",
    "newline injection": lambda mk, k, o: "Bearer " + mk() + "\nX-Admin: 1",
    "trailing newline": lambda mk, k, o: "Bearer " + mk() + "\n",
    "two tokens": lambda mk, k, o: "Bearer " + mk() + "," + mk(),
    "garbage": lambda mk, k, o: "Bearer not-a-jwt",
    "three garbage parts": lambda mk, k, o: "Bearer aaaa.bbbb.cccc",
    "oversized": lambda mk, k, o: "Bearer " + mk(pad="x" * 9000),
    "empty": lambda mk, k, o: "",
}


# Every route of the API, with the stack's robot r1 where a route names one.
ROUTES = ["POST/publish", "POST/robots/r1/publish", "POST/viewer", "POST/robots/r1/viewer"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_tokens_are_unauthorized(authorizer, make_token, keys, other_key, case, route):
    header = INVALID[case](make_token, keys, other_key)
    with pytest.raises(app.Unauthorized) as raised:
        authorizer(
            {"type": "TOKEN", "authorizationToken": header, "methodArn": ARN_PREFIX + route}, None
        )
    assert str(raised.value) == "Unauthorized"  # the exact text API Gateway maps to 401
    # Through the simulated gateway, the same request never reaches the Lambda.
    result = authorization.authorize({"Authorization": header}, ARN_PREFIX + route, authorizer)
    assert result.status == 401 and result.context is None


def test_an_event_without_a_token_or_method_arn_is_unauthorized(authorizer, make_token):
    with pytest.raises(app.Unauthorized):
        authorizer({"type": "TOKEN", "methodArn": ARN_PREFIX + "POST/publish"}, None)
    with pytest.raises(app.Unauthorized):
        authorizer(
            {
                "type": "TOKEN",
                "authorizationToken": "Bearer " + make_token(),
                "methodArn": "arn:aws:s3:::bucket/key",
            },
            None,
        )


# Valid tokens that do not allow the request: (claims overrides, route) -> 403.
MIS_SCOPED = {
    "robot r2 only, calls the stack's robot r1": ({"robots": ["r2"]}, "POST/publish"),
    "robot r2 only, calls r1 by name": ({"robots": ["r2"]}, "POST/robots/r1/publish"),
    "no robots at all": ({"robots": []}, "POST/robots/r1/publish"),
    "admin limited to r2, calls r1": (
        {"scope": "robot:admin", "robots": ["r2"]},
        "POST/robots/r1/publish",
    ),
    "read scope": ({"scope": "robot:read"}, "POST/publish"),
    "no scope": ({"scope": None}, "POST/publish"),
    "scope upper-cased": ({"scope": "ROBOT:DRIVE"}, "POST/publish"),
    "scope with a suffix": ({"scope": "robot:driver"}, "POST/publish"),
    "scope inside a longer word": ({"scope": "notrobot:admin"}, "POST/publish"),
    "scopes under another claim name": ({"scope": None, "scopes": "robot:admin"}, "POST/publish"),
    "drive scope, other method": ({}, "GET/publish"),
    "drive scope, admin-only route": ({}, "DELETE/robots/r1"),
    "view scope, publish route": ({"scope": "robot:view"}, "POST/publish"),
    "view scope, fleet publish route": ({"scope": "robot:view"}, "POST/robots/r1/publish"),
    "view scope limited to r2, watches r1": (
        {"scope": "robot:view", "robots": ["r2"]},
        "POST/robots/r1/viewer",
    ),
    "view scope limited to r2, watches the stack's robot": (
        {"scope": "robot:view", "robots": ["r2"]},
        "POST/viewer",
    ),
    "view scope, viewer route with GET": ({"scope": "robot:view"}, "GET/viewer"),
    "no scope, viewer route": ({"scope": None}, "POST/viewer"),
    "scope view without the prefix": ({"scope": "view"}, "POST/viewer"),
}


@pytest.mark.parametrize("case", sorted(MIS_SCOPED))
def test_mis_scoped_tokens_are_forbidden(authorizer, make_token, case):
    overrides, route = MIS_SCOPED[case]
    result = authorization.authorize(
        {"Authorization": "Bearer " + make_token(**overrides)},
        ARN_PREFIX + route,
        authorizer,
    )
    assert result.status == 403 and result.context is None


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=300) | st.builds(lambda s: "Bearer " + s, st.text(max_size=300)))
def test_any_header_text_is_unauthorized(authorizer, header):
    with pytest.raises(app.Unauthorized):
        authorize(authorizer, header, bearer="")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
NAMES_AND_SCOPES = st.sampled_from(
    ["robot:view", "robot:drive", "robot:admin", "r1", "r2", "*", "", "a b"]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(
        st.sampled_from(["scope", "scp", "robots", "sub"]),
        JSON | NAMES_AND_SCOPES | st.lists(NAMES_AND_SCOPES, max_size=3),
        max_size=4,
    )
)
def test_signed_claims_of_any_shape_never_grant_more_than_they_say(authorizer, make_token, odd):
    token = make_token(**{"scope": None, **odd})
    try:
        answer = authorize(authorizer, token)
    except app.Unauthorized:
        return
    signed = jwt.decode(token, options={"verify_signature": False})
    grants = access.Grants(
        signed["sub"], access.scopes_from_claims(signed), access.robots_from_claims(signed)
    )
    allows = any(s["Effect"] == "Allow" for s in answer["policyDocument"]["Statement"])
    assert allows == bool(
        grants.scopes & {"robot:view", "robot:drive", "robot:admin"}
        and (grants.robots is None or grants.robots)
    )
    assert answer["context"] == grants.context()


@pytest.mark.parametrize(
    "scheme", ["Basic: ", "Basic ", "Token ", "Bearer: ", "Bearer  ", " Bearer ", "BEARER ", ""]
)
def test_a_valid_jwt_under_another_scheme_is_unauthorized(authorizer, make_token, scheme):
    """The authorizer checks the scheme itself, not only API Gateway's validation expression
    in front of it: a valid token in a header of another form grants nothing."""
    with pytest.raises(app.Unauthorized):
        authorize(authorizer, make_token(), bearer=scheme)
    assert authorize(authorizer, make_token(), bearer="bearer ")["principalId"] == "alice"


# Claims and the verdict they must get, written out (the property test above judges by
# access.scopes_from_claims, the code under test): "unauthorized", "denied" (verified, but no
# route allowed), or the scopes and robots (None: any) of the grant.
CLAIMS_TABLE = [
    ({"scope": "robot:drive"}, ({"robot:drive"}, None)),
    ({"scope": "robot:view robot:drive"}, ({"robot:view", "robot:drive"}, None)),
    ({"scope": "  robot:view\trobot:admin "}, ({"robot:view", "robot:admin"}, None)),
    ({"scope": None, "scp": ["robot:view"]}, ({"robot:view"}, None)),
    ({"scope": None, "scp": "robot:view robot:drive"}, ({"robot:view", "robot:drive"}, None)),
    ({"scope": "robot:view", "scp": ["robot:admin"]}, ({"robot:view"}, None)),  # scope wins
    ({"scope": "robot:drive", "robots": ["r1", "r2"]}, ({"robot:drive"}, {"r1", "r2"})),
    ({"scope": "robot:drive", "robots": "r1 r2"}, ({"robot:drive"}, {"r1", "r2"})),
    ({"scope": "robot:drive", "robots": []}, "denied"),  # no robot: nothing to drive
    ({"scope": "email openid"}, "denied"),
    ({"scope": ""}, "denied"),
    ({"scope": None}, "denied"),
    ({"scope": ["robot:drive"]}, ({"robot:drive"}, None)),
    ({"scope": None, "scp": ["robot:drive robot:admin"]}, "unauthorized"),
    ({"scope": None, "scp": ["robot:drive", ""]}, "unauthorized"),
    ({"scope": None, "scp": [1]}, "unauthorized"),
    ({"scope": 5}, "unauthorized"),
    ({"scope": {"robot:drive": True}}, "unauthorized"),
    ({"scope": "robot:drive", "robots": ["r/1"]}, "unauthorized"),
    ({"scope": "robot:drive", "robots": [""]}, "unauthorized"),
    ({"scope": "robot:drive", "robots": "*"}, "unauthorized"),
    ({"scope": "robot:drive", "robots": 1}, "unauthorized"),
    ({"scope": "robot:drive", "robots": None}, ({"robot:drive"}, None)),  # left out
    ({"sub": ""}, "unauthorized"),
    ({"sub": None}, "unauthorized"),
    ({"sub": 7}, "unauthorized"),
]


@pytest.mark.parametrize(("overrides", "verdict"), CLAIMS_TABLE, ids=lambda v: str(v)[:50])
def test_each_claim_shape_gets_its_written_verdict(authorizer, make_token, overrides, verdict):
    token = make_token(**overrides)
    if verdict == "unauthorized":
        with pytest.raises(app.Unauthorized):
            authorize(authorizer, token)
        return
    answer = authorize(authorizer, token)
    allows = any(s["Effect"] == "Allow" for s in answer["policyDocument"]["Statement"])
    if verdict == "denied":
        assert not allows
        return
    scopes, robots = verdict
    assert allows
    context = answer["context"]
    assert set(context["scopes"].split()) == scopes
    assert context["robots"] == ("*" if robots is None else ",".join(sorted(robots)))

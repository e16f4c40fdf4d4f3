"""Fixtures for the cloud tests: real signing keys, token building, a configured authorizer,
a loopback HTTP server that records requests, and moto for the AWS control plane."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest

# The Lambda modules build their boto3 clients at import, as in Lambda, where the region
# is always set.
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")

from cloud.authorizer import app as authorizer_app
from robot.contracts import tokens

ISSUER = "https://idp.example.test/"
AUDIENCE = "robot-api"
ROBOT = "r1"
ARN_PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/"


@pytest.fixture(scope="session")
def keys() -> dict[str, Any]:
    """One private key per algorithm the authorizer accepts (RS256 and RS512 share one)."""
    rsa_key = tokens.generate_private_key("RS256")
    return {"ES256": tokens.generate_private_key("ES256"), "RS256": rsa_key, "RS512": rsa_key}


@pytest.fixture(scope="session")
def other_key() -> Any:
    """A key nobody trusts: a forger's."""
    return tokens.generate_private_key("ES256")


def claims(**overrides: Any) -> dict[str, Any]:
    """Valid claims for the test issuer and audience; ``None`` values are dropped."""
    now = int(time.time())
    base = {
        "sub": "alice",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "scope": "robot:drive",
    }
    return {k: v for k, v in {**base, **overrides}.items() if v is not None}


@pytest.fixture
def make_token(keys: dict[str, Any]) -> Callable[..., str]:
    def make(
        alg: str = "ES256", key: Any = None, headers: dict[str, Any] | None = None, **overrides: Any
    ) -> str:
        return jwt.encode(claims(**overrides), key or keys[alg], algorithm=alg, headers=headers)

    return make


def authorizer_env(public_key: Any, **extra: str) -> dict[str, str]:
    return {
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": AUDIENCE,
        "JWT_PUBLIC_KEY": tokens.public_pem(public_key),
        "ROBOT_NAME": ROBOT,
        **extra,
    }


@pytest.fixture
def configure_authorizer() -> Callable[[dict[str, str]], authorizer_app.Authorizer]:
    """The real authorizer, built from the environment a deployment would give it."""
    return authorizer_app.Authorizer.from_environ


@pytest.fixture
def authorizer(configure_authorizer, keys) -> Any:
    """The authorizer trusting the ES256 test key, with robot r1 as the stack's robot, and
    fleet-wide tokens allowed (a token without a robots claim drives any robot)."""
    return configure_authorizer(authorizer_env(keys["ES256"], FLEET_TOKENS="true"))


def authorize(
    authorizer: authorizer_app.Authorizer,
    token: str,
    route: str = "POST/publish",
    bearer: str = "Bearer ",
) -> dict[str, Any]:
    return authorizer(
        {"type": "TOKEN", "authorizationToken": bearer + token, "methodArn": ARN_PREFIX + route},
        None,
    )


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Loopback:
    """A real HTTP server on 127.0.0.1: records each request, answers with ``reply``."""

    url: str
    requests: list[Recorded] = field(default_factory=list)
    reply: tuple[int, Any] = (200, {})


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    state = Loopback(url="")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            state.requests.append(
                Recorded(
                    self.command, self.path, dict(self.headers.items()), self.rfile.read(length)
                )
            )
            status, body = state.reply
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def aws(monkeypatch) -> Iterator[None]:
    """moto in place of AWS, with fake credentials so nothing can reach a real account."""
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield

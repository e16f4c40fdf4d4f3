"""Operator tokens: `robot keys init` and `robot token`, with local files and Secrets Manager."""

from __future__ import annotations

import argparse
import stat
import time

import boto3
import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud.authorizer import app
from robot.cli import keys as keys_command
from robot.cli import token as token_command
from robot.contracts import tokens
from tests.cloud.conftest import ARN_PREFIX, authorize


def run(module, argv: list[str]) -> int:
    """Parse ``argv`` with only this command registered, then run it."""
    parser = argparse.ArgumentParser(prog="robot")
    module.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@given(st.integers(1, 30), st.sampled_from(["", "s", "m", "h", "d"]), st.booleans())
def test_ttl_parses_numbers_with_units(amount, unit, upper):
    text = f"{amount}{unit.upper() if upper else unit}"
    expected = amount * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    assert tokens.parse_ttl(text) == expected


@given(st.text(max_size=12))
def test_ttl_rejects_anything_else_with_a_value_error(text):
    try:
        seconds = tokens.parse_ttl(text)
    except ValueError:
        return
    assert 0 < seconds <= tokens.MAX_TTL_SECONDS


@pytest.mark.parametrize("text", ["0", "0s", "31d", "1w", "-1h", "1.5h", "h", ""])
def test_ttl_out_of_range_or_malformed(text):
    with pytest.raises(ValueError):
        tokens.parse_ttl(text)


@pytest.mark.parametrize("alg", ["ES256", "RS256", "RS512"])
def test_minted_tokens_carry_the_expected_claims(keys, alg):
    token = tokens.mint(
        keys[alg],
        "alice",
        ["robot:drive", "robot:admin"],
        3600,
        robots=["r2", "r1"],
        algorithm=alg,
        now=1_000_000,
    )
    assert jwt.get_unverified_header(token)["alg"] == alg
    body = jwt.decode(
        token,
        keys[alg].public_key(),
        algorithms=[alg],
        audience=tokens.DEFAULT_AUDIENCE,
        options={"verify_exp": False},
    )
    assert body["sub"] == "alice" and body["scope"] == "robot:admin robot:drive"
    assert body["robots"] == ["r1", "r2"] and body["iss"] == tokens.DEFAULT_ISSUER
    assert (body["iat"], body["nbf"], body["exp"]) == (1_000_000, 1_000_000, 1_003_600)
    assert len(body["jti"]) == 32


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scopes": ["robot:fly"]}, "robot:fly"),
        ({"scopes": []}, "scopes"),
        ({"subject": ""}, "subject"),
        ({"robots": ["*"]}, "robot names"),
        ({"algorithm": "RS256"}, "ES256"),  # an EC key cannot sign RS256
    ],
)
def test_mint_refuses_what_the_authorizer_would_not_honour(keys, kwargs, message):
    args = {"subject": "alice", "scopes": ["robot:drive"], **kwargs}
    with pytest.raises(ValueError, match=message):
        tokens.mint(keys["ES256"], args.pop("subject"), args.pop("scopes"), 60, **args)


def test_keys_init_writes_a_private_key_only_its_owner_reads(
    tmp_path, capsys, configure_authorizer
):
    out = tmp_path / "keys"
    assert run(keys_command, ["keys", "init", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert stat.S_IMODE((out / "private.pem").stat().st_mode) == 0o600
    assert (out / ".gitignore").read_text() == "private.pem\n"
    line = next(w.split("=", 1)[1] for w in printed.split() if w.startswith("JwtPublicKey="))
    assert line == tokens.public_key_line((out / "public.pem").read_text())

    # What it printed is what the authorizer needs; `robot token` mints with the file.
    module = configure_authorizer(
        {
            "JWT_ISSUER": tokens.DEFAULT_ISSUER,
            "ROBOT_NAME": "r1",
            "JWT_AUDIENCE": tokens.DEFAULT_AUDIENCE,
            "JWT_PUBLIC_KEY": line,
        }
    )
    assert (
        run(
            token_command,
            [
                "token",
                "--subject",
                "ops",
                "--key",
                str(out / "private.pem"),
                "--ttl",
                "15m",
                "--robot",
                "r1",
            ],
        )
        == 0
    )
    minted = capsys.readouterr().out.strip()
    answer = authorize(module, minted)
    assert answer["context"] == {"sub": "ops", "scopes": "robot:drive", "robots": "r1"}
    assert jwt.decode(minted, options={"verify_signature": False})["exp"] <= time.time() + 900

    assert run(keys_command, ["keys", "init", "--out", str(out)]) == 1  # never overwrites
    assert "exists" in capsys.readouterr().err


def test_keys_in_secrets_manager_round_trip(aws, tmp_path, capsys, configure_authorizer):
    out = tmp_path / "keys"
    assert (
        run(
            keys_command,
            ["keys", "init", "--out", str(out), "--alg", "RS512", "--secret-id", "robot/token-key"],
        )
        == 0
    )
    assert not (out / "private.pem").exists()  # the private key went to the secret only
    assert "Secrets Manager" in capsys.readouterr().out
    stored = boto3.client("secretsmanager").get_secret_value(SecretId="robot/token-key")
    assert "PRIVATE KEY" in stored["SecretString"]

    module = configure_authorizer(
        {
            "JWT_ISSUER": tokens.DEFAULT_ISSUER,
            "JWT_AUDIENCE": tokens.DEFAULT_AUDIENCE,
            "JWT_PUBLIC_KEY": (out / "public.pem").read_text(),
            "FLEET_TOKENS": "true",  # an administrator of the whole fleet
        }
    )
    assert (
        run(
            token_command,
            [
                "token",
                "--subject",
                "ops",
                "--secret-id",
                "robot/token-key",
                "--scope",
                "robot:admin",
                "--alg",
                "RS512",
            ],
        )
        == 0
    )
    minted = capsys.readouterr().out.strip()
    assert jwt.get_unverified_header(minted)["alg"] == "RS512"
    assert authorize(module, minted, route="DELETE/anything")["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [ARN_PREFIX + "*"]}
    ]


def test_token_takes_the_secret_id_from_the_environment(aws, monkeypatch, capsys, keys):
    boto3.client("secretsmanager").create_secret(
        Name="k", SecretString=tokens.private_pem(keys["ES256"])
    )
    monkeypatch.setenv("JWT_PRIVATE_KEY_SECRET_ID", "k")
    assert run(token_command, ["token", "--subject", "ops"]) == 0
    minted = capsys.readouterr().out.strip()
    assert (
        jwt.decode(
            minted,
            keys["ES256"].public_key(),
            algorithms=["ES256"],
            audience=tokens.DEFAULT_AUDIENCE,
        )["sub"]
        == "ops"
    )


def test_token_needs_exactly_one_key_source(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("JWT_PRIVATE_KEY_SECRET_ID", raising=False)
    monkeypatch.delenv("JWT_PRIVATE_KEY_FILE", raising=False)
    assert run(token_command, ["token", "--subject", "x"]) == 2
    assert run(token_command, ["token", "--subject", "x", "--key", "a", "--secret-id", "b"]) == 2
    assert run(token_command, ["token", "--subject", "x", "--key", str(tmp_path / "none")]) == 1
    assert "No such file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run(token_command, ["token", "--subject", "x", "--key", "k", "--scope", "robot:fly"])


def test_an_expired_minted_token_is_refused(authorizer, keys):
    token = tokens.mint(
        keys["ES256"],
        "alice",
        ["robot:drive"],
        60,
        now=time.time() - 3600,
        issuer="https://idp.example.test/",
        audience="robot-api",
    )
    with pytest.raises(app.Unauthorized):
        authorize(authorizer, token)


def test_token_guest_mints_a_guest_link_token_for_one_robot(aws, capsys, keys):
    boto3.client("secretsmanager").create_secret(
        Name="k", SecretString=tokens.private_pem(keys["ES256"])
    )
    argv = ["token", "--secret-id", "k", "--guest", "Ann", "--robot", "r1"]
    assert run(token_command, argv) == 0
    claims = jwt.decode(
        capsys.readouterr().out.strip(),
        keys["ES256"].public_key(),
        algorithms=["ES256"],
        audience=tokens.DEFAULT_AUDIENCE,
    )
    assert (claims["guest"], claims["scope"], claims["robots"]) == ("Ann", "robot:view", ["r1"])
    assert claims["exp"] - claims["iat"] == 3600
    assert run(token_command, [*argv, "--drive", "--ttl", "24h"]) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), options={"verify_signature": False})
    assert claims["scope"] == "robot:drive robot:view"


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (["--guest", "Ann"], "exactly one --robot"),
        (["--guest", "Ann", "--robot", "r1", "--robot", "r2"], "exactly one --robot"),
        (["--guest", "Ann", "--robot", "r1", "--ttl", "25h"], "24 h"),
        (["--subject", "ops", "--drive"], "--drive belongs to --guest"),
    ],
)
def test_token_guest_refuses_what_a_guest_link_may_not_be(aws, capsys, keys, extra, reason):
    boto3.client("secretsmanager").create_secret(
        Name="k", SecretString=tokens.private_pem(keys["ES256"])
    )
    assert run(token_command, ["token", "--secret-id", "k", *extra]) != 0
    assert reason in capsys.readouterr().err

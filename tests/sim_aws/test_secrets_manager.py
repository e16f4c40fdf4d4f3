"""The simulator's Secrets Manager: boto3's own client, through the front, signed; only the
principal a secret names reads it, and AWS's errors for everyone else."""

from __future__ import annotations

from collections.abc import Iterator

import botocore.exceptions
import pytest

from sim.aws import sigv4
from sim.aws.api_gateway import Front
from sim.aws.iot_data import IotDataPlane
from sim.aws.secrets_manager import SecretsManager

REGION = "eu-west-1"


@pytest.fixture
def service() -> Iterator[tuple[Front, sigv4.CredentialStore, str]]:
    store = sigv4.CredentialStore()
    front = Front(0, IotDataPlane(lambda *_: None, store, REGION))
    manager = SecretsManager(store, REGION)
    arn = manager.create("guest-key", "-----PEM-----", {"guests"})
    front.serve_secrets(manager)
    front.start()
    yield front, store, arn
    front.stop()


def client(front: Front, store: sigv4.CredentialStore, principal: str, region: str = REGION):
    return sigv4.boto3_client(
        "secretsmanager", front.url, sigv4.issue_random(store, principal), region
    )


def error_code(call) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"]


def test_the_named_reader_gets_the_secret_by_name_or_arn(service) -> None:
    front, store, arn = service
    reader = client(front, store, "guests")
    by_name = reader.get_secret_value(SecretId="guest-key")
    assert by_name["SecretString"] == "-----PEM-----"
    assert by_name["ARN"] == arn and arn.startswith(f"arn:aws:secretsmanager:{REGION}:")
    assert reader.get_secret_value(SecretId=arn)["Name"] == "guest-key"


def test_anyone_else_is_denied_and_an_unknown_secret_is_not_found(service) -> None:
    front, store, _ = service
    other = client(front, store, "publish-lambda")
    assert error_code(lambda: other.get_secret_value(SecretId="guest-key")) == (
        "AccessDeniedException"
    )
    reader = client(front, store, "guests")
    assert error_code(lambda: reader.get_secret_value(SecretId="nope")) == (
        "ResourceNotFoundException"
    )


def test_an_unsigned_or_foreign_request_is_refused(service) -> None:
    front, store, _ = service
    stranger = sigv4.boto3_client(
        "secretsmanager", front.url, sigv4.issue_random(sigv4.CredentialStore(), "x"), REGION
    )
    assert error_code(lambda: stranger.get_secret_value(SecretId="guest-key"))
    elsewhere = client(front, store, "guests", region="us-west-2")
    assert error_code(lambda: elsewhere.get_secret_value(SecretId="guest-key"))

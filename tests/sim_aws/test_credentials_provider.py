"""The local IoT credentials provider: mutual TLS with the simulator's CA, the thing name
checked against the certificate, and credentials the signaling service then accepts."""

from __future__ import annotations

import http.client
import json
import ssl

import botocore.exceptions
import pytest
from botocore.credentials import ReadOnlyCredentials

from sim.aws.certs import Identity, make_certs, make_untrusted_identity
from sim.aws.credentials_provider import THING_HEADER, CredentialsProvider
from sim.aws.kvs_signaling import MASTER_ACTIONS, Permissions
from tests.sim_aws.conftest import ROBOT, client

ALIAS = "r1-camera"


@pytest.fixture
def certs(tmp_path):
    return make_certs(tmp_path / "certs", ROBOT)


@pytest.fixture
def provider(loop, store, certs) -> CredentialsProvider:
    return loop.enter(
        CredentialsProvider(
            store,
            {ALIAS: lambda thing: Permissions(MASTER_ACTIONS, thing)},
            ca=certs.ca,
            server_cert=certs.server.cert,
            server_key=certs.server.key,
        )
    )


def get(
    provider, certs, identity: Identity | None, alias: str = ALIAS, thing: str | None = ROBOT
) -> tuple[int, dict]:
    context = ssl.create_default_context(cafile=str(certs.ca))
    if identity is not None:
        context.load_cert_chain(str(identity.cert), str(identity.key))
    connection = http.client.HTTPSConnection("localhost", provider.port, context=context, timeout=5)
    try:
        connection.request(
            "GET",
            f"/role-aliases/{alias}/credentials",
            headers={THING_HEADER: thing} if thing else {},
        )
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        connection.close()


def test_the_robot_gets_credentials_that_kvs_accepts_for_its_channel(provider, certs, kvs):
    status, body = get(provider, certs, certs.robot)
    assert status == 200
    issued = body["credentials"]
    assert set(issued) == {"accessKeyId", "secretAccessKey", "sessionToken", "expiration"}
    assert issued["expiration"].endswith("Z")
    credentials = ReadOnlyCredentials(
        issued["accessKeyId"], issued["secretAccessKey"], issued["sessionToken"]
    )
    kinesisvideo = client("kinesisvideo", kvs.url, credentials)
    assert kinesisvideo.describe_signaling_channel(ChannelName=ROBOT)["ChannelInfo"]
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        kinesisvideo.describe_signaling_channel(ChannelName="r2")
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
    # Each request gets new credentials; the session token must go with its own key.
    _, again = get(provider, certs, certs.robot)
    assert again["credentials"]["accessKeyId"] != issued["accessKeyId"]
    mixed = ReadOnlyCredentials(
        issued["accessKeyId"], issued["secretAccessKey"], again["credentials"]["sessionToken"]
    )
    with pytest.raises(botocore.exceptions.ClientError):
        client("kinesisvideo", kvs.url, mixed).describe_signaling_channel(ChannelName=ROBOT)


@pytest.mark.parametrize("identity", [None, "untrusted"])
def test_a_client_certificate_from_the_simulators_ca_is_required(
    provider, certs, tmp_path, identity
):
    chosen = make_untrusted_identity(tmp_path, ROBOT) if identity else None
    with pytest.raises((ssl.SSLError, ConnectionError)):
        get(provider, certs, chosen)


def test_the_thing_name_must_be_the_certificates(provider, certs):
    assert get(provider, certs, certs.robot, thing="r2")[0] == 403
    assert get(provider, certs, certs.publisher, thing=ROBOT)[0] == 403
    assert get(provider, certs, certs.robot, thing=None)[0] == 400


def test_an_unknown_role_alias_is_not_found(provider, certs):
    status, body = get(provider, certs, certs.robot, alias="admin-role")
    assert status == 404 and body["message"]

"""The wiring the simulator's HTTP front uses: sim.aws.api_gateway.Front with
authorization.front_authorizer, the dev identity and the real publish handler, over real HTTP
on loopback."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from cloud.publish import app as publish
from sim.aws import authorization, dev_identity, iot_data, sigv4
from sim.aws.api_gateway import Front
from sim.aws.iot_data import IotDataPlane

REGION = "eu-west-1"


@pytest.fixture
def front(tmp_path, configure_authorizer):
    identity = dev_identity.dev_identity(tmp_path, robot="simbot")
    sent: list[tuple[str, bytes]] = []
    store = sigv4.CredentialStore()
    credentials = iot_data.issue_credentials(store)
    server = Front(
        0,
        IotDataPlane(lambda topic, payload, qos: sent.append((topic, payload)), store, REGION),
        authorize=authorization.front_authorizer(configure_authorizer(identity.environ)),
    )
    client = iot_data.boto3_client(server.url, credentials, REGION)
    endpoint = publish.PublishEndpoint(
        publish.Settings(robot_name=identity.environ["ROBOT_NAME"]), client
    )
    server.lambda_routes["POST /publish"] = endpoint
    server.lambda_routes["POST /robots/{name}/publish"] = endpoint
    server.start()
    yield server, identity, sent
    server.stop()


def post(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(
        url,
        data=b'{"action": "forward"}',
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_dev_token_drives_the_sim_robot_and_nothing_else(front):
    server, identity, sent = front
    auth = {"Authorization": identity.authorization}
    assert post(server.url + "/publish", auth) == 200
    assert post(server.url + "/robots/simbot/publish", auth) == 200
    assert post(server.url + "/robots/otherbot/publish", auth) == 403
    assert post(server.url + "/publish", {}) == 401
    assert post(server.url + "/publish", {"Authorization": "Bearer a.b.c"}) == 401
    assert [topic for topic, _ in sent] == ["simbot/action", "simbot/action"]
    assert json.loads(sent[0][1])["action"] == "forward"

"""`robot sim`'s viewer route: through the simulated API Gateway, the real authorizer and the
real viewer Lambda to the local KVS signaling service; and the robot's config reaches the
local credentials provider."""

from __future__ import annotations

import http.client
import json
import ssl

from botocore.credentials import ReadOnlyCredentials

from cloud.viewer.app import presign_connect_url
from sim.aws import dev_identity
from sim.aws.credentials_provider import THING_HEADER
from sim.aws.video import VIEWER_ACCESS_KEY
from tests.sim_aws.conftest import Peer, handshake_status
from tests.support.http import post


def bearer(stack, scopes: list[str], robot: str | None = None) -> dict[str, str]:
    token = dev_identity.dev_token(stack.state_dir, robot or stack.thing_name, scopes=scopes)
    return {"Authorization": f"Bearer {token}"}


def test_the_dev_token_gets_a_viewer_session_that_joins_the_robots_channel(stack):
    status, headers, body = post(stack.url + "/viewer", {}, stack.auth_headers())
    assert status == 200, body
    assert "Access-Control-Allow-Origin" not in headers  # the console's origin only
    assert body["robot"] == stack.thing_name
    assert body["channelArn"] == stack.video.signaling.channels[stack.thing_name].arn
    viewer = Peer(stack.video.loop, body["signalingUrl"])
    try:
        assert stack.video.signaling.connected(stack.thing_name)[1] == [body["clientId"]]
    finally:
        viewer.close()


def test_watching_needs_a_token_that_allows_it(stack):
    view_only = bearer(stack, ["robot:view"])
    assert post(stack.url + f"/robots/{stack.thing_name}/viewer", {}, view_only)[0] == 200
    assert post(stack.url + "/publish", {"action": "stop"}, view_only)[0] == 403
    assert post(stack.url + "/viewer", {})[0] == 401
    assert post(stack.url + "/viewer", {}, bearer(stack, ["robot:view"], robot="other"))[0] == 403
    assert post(stack.url + "/robots/other/viewer", {}, stack.auth_headers())[0] == 403


def test_the_robots_config_names_the_local_credentials_provider(stack):
    config = json.loads(stack.config_path.read_text())
    assert config["KVS_ENDPOINT_URL"] == stack.video.signaling.url
    host, port = config["IOT_GET_CREDENTIAL_ENDPOINT"].split(":")
    context = ssl.create_default_context(cafile=config["ROOT_CA_PATH"])
    context.load_cert_chain(config["CERTIFICATE_PATH"], config["PRIVATE_KEY_PATH"])
    connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=5)
    try:
        connection.request(
            "GET",
            f"/role-aliases/{config['ROLE_ALIAS']}/credentials",
            headers={THING_HEADER: config["IOT_THINGNAME"]},
        )
        answer = connection.getresponse()
        assert answer.status == 200
        assert json.loads(answer.read())["credentials"]["sessionToken"]
    finally:
        connection.close()


def test_a_viewer_url_needs_this_runs_secret(stack):
    """The viewer Lambda's secret is made per run: the one an earlier version kept in its
    source, or any other guess, presigns nothing this simulator accepts."""
    status, _, body = post(stack.url + "/viewer", {}, stack.auth_headers())
    assert status == 200, body
    endpoint = body["signalingUrl"].split("?")[0]
    for guess in ("sim-viewer-lambda-secret", "x"):
        forged = presign_connect_url(
            endpoint,
            body["channelArn"],
            "forger",
            ReadOnlyCredentials(VIEWER_ACCESS_KEY, guess, None),
            body["region"],
            60,
        )
        assert handshake_status(stack.video.loop, forged) == 403, guess
    assert handshake_status(stack.video.loop, body["signalingUrl"]) == 101


def test_only_the_consoles_pages_open_the_signaling_websocket(stack):
    url = post(stack.url + "/viewer", {}, stack.auth_headers())[2]["signalingUrl"]
    assert handshake_status(stack.video.loop, url, origin="http://evil.example") == 403
    url = post(stack.url + "/viewer", {}, stack.auth_headers())[2]["signalingUrl"]
    assert handshake_status(stack.video.loop, url, origin=stack.url) == 101

"""The simulator's video services end to end, the way the robot's producer and a browser
use them: certificate -> credentials -> KVS control plane -> presigned master URL; JWT grants
-> viewer Lambda -> presigned viewer URL; then an offer travels from viewer to master."""

from __future__ import annotations

import base64
import http.client
import json
import ssl

import pytest
from botocore.credentials import ReadOnlyCredentials

from cloud.viewer.app import presign_connect_url
from sim.aws.certs import make_certs
from sim.aws.credentials_provider import THING_HEADER
from sim.aws.video import LocalVideo
from tests.sim_aws.conftest import Peer, client
from tests.support import tls

THING = "sim-robot"


@pytest.fixture
def video(tmp_path):
    with LocalVideo(THING, make_certs(tmp_path / "certs", THING)) as services:
        tls.trust(services.certs.ca)
        yield services


def robot_credentials(video: LocalVideo, config: dict) -> ReadOnlyCredentials:
    """What the producer does first: trade the thing's certificate for credentials."""
    context = ssl.create_default_context(cafile=str(video.certs.ca))
    context.load_cert_chain(str(video.certs.robot.cert), str(video.certs.robot.key))
    host, port = config["IOT_GET_CREDENTIAL_ENDPOINT"].split(":")
    connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=5)
    connection.request(
        "GET", f"/role-aliases/{config['ROLE_ALIAS']}/credentials", headers={THING_HEADER: THING}
    )
    issued = json.loads(connection.getresponse().read())["credentials"]
    connection.close()
    return ReadOnlyCredentials(
        issued["accessKeyId"], issued["secretAccessKey"], issued["sessionToken"]
    )


def test_the_robot_and_a_viewer_meet_on_the_robots_channel(video):
    config = video.robot_config()
    assert config["AWS_DEFAULT_REGION"] == video.region
    credentials = robot_credentials(video, config)
    kinesisvideo = client("kinesisvideo", config["KVS_ENDPOINT_URL"], credentials)
    arn = kinesisvideo.describe_signaling_channel(ChannelName=THING)["ChannelInfo"]["ChannelARN"]
    endpoints = kinesisvideo.get_signaling_channel_endpoint(
        ChannelARN=arn,
        SingleMasterChannelEndpointConfiguration={"Protocols": ["WSS", "HTTPS"], "Role": "MASTER"},
    )["ResourceEndpointList"]
    wss = next(e["ResourceEndpoint"] for e in endpoints if e["Protocol"] == "WSS")
    master = Peer(video.loop, presign_connect_url(wss, arn, None, credentials, video.region, 299))
    grants = {"sub": "alice", "scopes": "robot:view", "robots": THING}
    answer = video.viewer_handler()(
        {"pathParameters": None, "requestContext": {"authorizer": grants}}, None
    )
    assert answer["statusCode"] == 200, answer
    body = json.loads(answer["body"])
    assert body["iceServers"] == [] and body["channelArn"] == arn
    viewer = Peer(video.loop, body["signalingUrl"])
    try:
        offer = base64.b64encode(b'{"type": "offer", "sdp": "v=0"}').decode()
        viewer.send(action="SDP_OFFER", messagePayload=offer)
        assert master.receive() == {
            "messageType": "SDP_OFFER",
            "messagePayload": offer,
            "senderClientId": body["clientId"],
        }
    finally:
        viewer.close()
        master.close()

"""The local KVS signaling service against KVS's protocol, with botocore's real request path
and signer: signatures checked, presigned URLs expire, messages routed by client id."""

from __future__ import annotations

import base64
import datetime
import json

import botocore.auth
import botocore.exceptions
import pytest
from botocore.credentials import ReadOnlyCredentials

from cloud.viewer.app import presign_connect_url
from sim.aws.kvs_signaling import MAX_VIEWERS
from tests.sim_aws.conftest import REGION, ROBOT, ROBOT_KEYS, VIEWER_KEYS, client, handshake_status


def channel_endpoints(kvs, credentials, role: str, channel: str = ROBOT) -> tuple[str, dict]:
    kinesisvideo = client("kinesisvideo", kvs.url, credentials)
    arn = kinesisvideo.describe_signaling_channel(ChannelName=channel)["ChannelInfo"]["ChannelARN"]
    endpoints = kinesisvideo.get_signaling_channel_endpoint(
        ChannelARN=arn,
        SingleMasterChannelEndpointConfiguration={"Protocols": ["WSS", "HTTPS"], "Role": role},
    )["ResourceEndpointList"]
    return arn, {e["Protocol"]: e["ResourceEndpoint"] for e in endpoints}


def master_url(kvs, credentials=ROBOT_KEYS, expires: int = 299) -> str:
    arn, endpoints = channel_endpoints(kvs, credentials, "MASTER")
    return presign_connect_url(endpoints["WSS"], arn, None, credentials, REGION, expires)


def viewer_url(kvs, client_id: str, credentials=VIEWER_KEYS, expires: int = 299) -> str:
    arn, endpoints = channel_endpoints(kvs, credentials, "VIEWER")
    return presign_connect_url(endpoints["WSS"], arn, client_id, credentials, REGION, expires)


def payload(value: dict) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


def refusal(call, **params) -> tuple[str, int]:
    """The error code and HTTP status the service refuses ``call(**params)`` with."""
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call(**params)
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


# ---- control plane --------------------------------------------------------------------


def test_the_control_plane_answers_as_kvs_does(kvs):
    kinesisvideo = client("kinesisvideo", kvs.url, ROBOT_KEYS)
    info = kinesisvideo.describe_signaling_channel(ChannelName=ROBOT)["ChannelInfo"]
    assert info["ChannelName"] == ROBOT and info["ChannelType"] == "SINGLE_MASTER"
    assert info["ChannelARN"].startswith(f"arn:aws:kinesisvideo:{REGION}:000000000000:channel/r1/")
    arn, endpoints = channel_endpoints(kvs, ROBOT_KEYS, "MASTER")
    assert endpoints["WSS"].startswith(f"ws://127.0.0.1:{kvs.port}/")
    assert endpoints["HTTPS"] == kvs.url
    signaling = client("kinesis-video-signaling", endpoints["HTTPS"], ROBOT_KEYS)
    ice = signaling.get_ice_server_config(ChannelARN=arn, ClientId="x", Service="TURN")
    assert ice["IceServerList"] == []
    assert (
        kinesisvideo.describe_signaling_channel(ChannelARN=arn)["ChannelInfo"]["ChannelName"]
        == ROBOT
    )


def test_an_unknown_channel_is_not_found(kvs):
    kinesisvideo = client("kinesisvideo", kvs.url, VIEWER_KEYS)
    assert (
        refusal(kinesisvideo.describe_signaling_channel, ChannelName="nobody")[0]
        == "ResourceNotFoundException"
    )


def test_a_robot_creates_its_own_channel_only(kvs, store):
    kinesisvideo = client("kinesisvideo", kvs.url, ROBOT_KEYS)
    assert (
        refusal(kinesisvideo.create_signaling_channel, ChannelName="r3")[0]
        == "AccessDeniedException"
    )
    assert (
        refusal(kinesisvideo.create_signaling_channel, ChannelName=ROBOT)[0]
        == "ResourceInUseException"
    )


@pytest.mark.parametrize(
    ("credentials", "region", "code"),
    [
        (
            ReadOnlyCredentials(ROBOT_KEYS.access_key, "wrong-secret", None),
            REGION,
            "InvalidSignatureException",
        ),
        (
            ReadOnlyCredentials("AKIDUNKNOWN", "robot-secret", None),
            REGION,
            "UnrecognizedClientException",
        ),
        (
            ReadOnlyCredentials(ROBOT_KEYS.access_key, ROBOT_KEYS.secret_key, "a-token"),
            REGION,
            "UnrecognizedClientException",
        ),
        (ROBOT_KEYS, "eu-west-1", "InvalidSignatureException"),
    ],
)
def test_bad_signatures_are_refused(kvs, credentials, region, code):
    kinesisvideo = client("kinesisvideo", kvs.url, credentials, region)
    assert refusal(kinesisvideo.describe_signaling_channel, ChannelName=ROBOT) == (code, 403)


def test_a_body_changed_after_signing_is_refused(kvs):
    kinesisvideo = client("kinesisvideo", kvs.url, VIEWER_KEYS)

    def swap_body(request, **kwargs):
        request.body = json.dumps({"ChannelName": "r2"}).encode()
        request.headers["Content-Length"] = str(len(request.body))

    kinesisvideo.meta.events.register("before-send.kinesis-video.*", swap_body)
    assert (
        refusal(kinesisvideo.describe_signaling_channel, ChannelName=ROBOT)[0]
        == "InvalidSignatureException"
    )


def test_a_robot_reaches_its_own_channel_only(kvs):
    kinesisvideo = client("kinesisvideo", kvs.url, ROBOT_KEYS)
    assert (
        refusal(kinesisvideo.describe_signaling_channel, ChannelName="r2")[0]
        == "AccessDeniedException"
    )


def test_expired_temporary_credentials_are_refused(kvs, store):
    issued = store.issue("short-lived", datetime.timedelta(seconds=-1))
    credentials = ReadOnlyCredentials(
        issued.access_key_id, issued.secret_access_key, issued.session_token
    )
    assert (
        refusal(
            client("kinesisvideo", kvs.url, credentials).describe_signaling_channel,
            ChannelName=ROBOT,
        )[0]
        == "ExpiredTokenException"
    )


# ---- the presigned WebSocket URL ------------------------------------------------------


def test_a_presigned_url_connects(kvs, loop):
    assert handshake_status(loop, master_url(kvs)) == 101
    assert handshake_status(loop, viewer_url(kvs, "v1")) == 101


def test_an_expired_presigned_url_is_refused_before_the_upgrade(kvs, loop, monkeypatch):
    arn, endpoints = channel_endpoints(kvs, VIEWER_KEYS, "VIEWER")
    signed_at = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=120)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: signed_at)
    stale = presign_connect_url(endpoints["WSS"], arn, "v1", VIEWER_KEYS, REGION, 60)
    fresh = presign_connect_url(endpoints["WSS"], arn, "v1", VIEWER_KEYS, REGION, 299)
    assert handshake_status(loop, stale) == 403
    assert handshake_status(loop, fresh) == 101  # signed two minutes ago, valid for five


@pytest.mark.parametrize(
    "tamper",
    [
        lambda url: url[:-1] + ("0" if url[-1] != "0" else "1"),  # the signature
        lambda url: url.replace("X-Amz-ClientId=v1", "X-Amz-ClientId=v2"),
        lambda url: url.replace("X-Amz-Expires=299", "X-Amz-Expires=298"),
        lambda url: url.split("&X-Amz-Signature=")[0],
        lambda url: (
            url.split("?")[0]
            + "?X-Amz-ChannelARN="
            + url.split("X-Amz-ChannelARN=")[1].split("&")[0]
            + "&X-Amz-ClientId=v1"
        ),
    ],
)
def test_a_tampered_presigned_url_is_refused(kvs, loop, tamper):
    assert handshake_status(loop, tamper(viewer_url(kvs, "v1"))) == 403


def test_presigned_urls_live_at_most_300_seconds(kvs, loop):
    assert handshake_status(loop, viewer_url(kvs, "v1", expires=301)) == 400


def test_a_url_signed_for_another_region_is_refused(kvs, loop):
    arn, endpoints = channel_endpoints(kvs, VIEWER_KEYS, "VIEWER")
    elsewhere = presign_connect_url(endpoints["WSS"], arn, "v1", VIEWER_KEYS, "eu-west-1", 60)
    here = presign_connect_url(endpoints["WSS"], arn, "v1", VIEWER_KEYS, REGION, 60)
    assert REGION != "eu-west-1"
    assert handshake_status(loop, elsewhere) == 403
    assert handshake_status(loop, here) == 101


def test_browser_pages_of_other_origins_are_refused_when_origins_are_named(kvs, loop):
    url = viewer_url(kvs, "v1")
    assert handshake_status(loop, url, origin="http://evil.example") == 101  # as in AWS
    kvs.origins = frozenset({"http://127.0.0.1:8080"})
    assert handshake_status(loop, url, origin="http://evil.example") == 403
    assert handshake_status(loop, url, origin="http://127.0.0.1:8081") == 403
    assert handshake_status(loop, url, origin="http://127.0.0.1:8080") == 101
    assert handshake_status(loop, url) == 101  # not a browser: the producer, an aiortc viewer
    kvs.origins = frozenset()
    assert handshake_status(loop, url, origin="http://127.0.0.1:8080") == 403


def test_roles_and_client_ids_are_checked(kvs, loop):
    arn, master = channel_endpoints(kvs, ROBOT_KEYS, "MASTER")
    # A master with a client id, a viewer without, a viewer id KVS reserves: 400.
    assert (
        handshake_status(
            loop, presign_connect_url(master["WSS"], arn, "v1", ROBOT_KEYS, REGION, 60)
        )
        == 400
    )
    _, viewer = channel_endpoints(kvs, VIEWER_KEYS, "VIEWER")
    assert (
        handshake_status(
            loop, presign_connect_url(viewer["WSS"], arn, None, VIEWER_KEYS, REGION, 60)
        )
        == 400
    )
    assert handshake_status(loop, viewer_url(kvs, "AWS_x")) == 400
    # The viewer's credentials may not act as master, nor the robot's as a viewer.
    assert (
        handshake_status(
            loop, presign_connect_url(master["WSS"], arn, None, VIEWER_KEYS, REGION, 60)
        )
        == 403
    )
    assert (
        handshake_status(
            loop, presign_connect_url(viewer["WSS"], arn, "v1", ROBOT_KEYS, REGION, 60)
        )
        == 403
    )


# ---- messages -------------------------------------------------------------------------


def test_messages_are_routed_by_client_id(kvs, peers):
    master = peers(master_url(kvs))
    alice, bob = peers(viewer_url(kvs, "alice")), peers(viewer_url(kvs, "bob"))
    offer = payload({"type": "offer", "sdp": "v=0"})
    alice.send(action="SDP_OFFER", messagePayload=offer)
    assert master.receive() == {
        "messageType": "SDP_OFFER",
        "messagePayload": offer,
        "senderClientId": "alice",
    }
    answer = payload({"type": "answer", "sdp": "v=0"})
    master.send(action="SDP_ANSWER", messagePayload=answer, recipientClientId="bob")
    assert bob.receive() == {"messageType": "SDP_ANSWER", "messagePayload": answer}
    candidate = payload({"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host"})
    master.send(action="ICE_CANDIDATE", messagePayload=candidate, recipientClientId="alice")
    assert alice.receive() == {"messageType": "ICE_CANDIDATE", "messagePayload": candidate}
    assert bob.receive(timeout=0.3) is None  # nothing meant for alice reaches bob
    assert kvs.connected(ROBOT) == (True, ["alice", "bob"])


def test_the_newest_master_wins(kvs, peers):
    first = peers(master_url(kvs))
    second = peers(master_url(kvs))
    assert first.receive() == {"messageType": "GO_AWAY"}
    assert first.receive() is None and first.closed
    viewer = peers(viewer_url(kvs, "v1"))
    viewer.send(action="SDP_OFFER", messagePayload=payload({"sdp": "x"}))
    assert second.receive()["senderClientId"] == "v1"


def test_the_newest_viewer_with_a_client_id_wins(kvs, peers):
    old = peers(viewer_url(kvs, "v1"))
    peers(viewer_url(kvs, "v1"))
    assert old.receive() == {"messageType": "GO_AWAY"}
    assert kvs.connected(ROBOT) == (False, ["v1"])


def test_more_than_ten_viewers_are_refused(kvs, peers, loop):
    for number in range(MAX_VIEWERS):
        peers(viewer_url(kvs, f"v{number}"))
    assert handshake_status(loop, viewer_url(kvs, "one-too-many")) == 400
    assert handshake_status(loop, viewer_url(kvs, "v3")) == 101  # a known viewer reconnects


def test_undeliverable_messages_get_a_status_response_when_correlated(kvs, peers):
    viewer = peers(viewer_url(kvs, "v1"))
    viewer.send(action="SDP_OFFER", messagePayload=payload({"sdp": "x"}), correlationId="c-1")
    status = viewer.receive()
    assert status["messageType"] == "STATUS_RESPONSE"
    assert status["statusResponse"]["correlationId"] == "c-1"
    assert status["statusResponse"]["errorType"] and status["statusResponse"]["statusCode"]
    viewer.send(action="SDP_OFFER", messagePayload=payload({"sdp": "x"}))
    assert viewer.receive(timeout=0.3) is None  # without a correlation id: dropped silently
    master = peers(master_url(kvs))
    master.send(
        action="SDP_ANSWER",
        messagePayload=payload({}),
        recipientClientId="ghost",
        correlationId="c-2",
    )
    assert master.receive()["statusResponse"]["correlationId"] == "c-2"


@pytest.mark.parametrize(
    "message",
    [
        {"action": "SDP_PARTY", "messagePayload": payload({})},
        {"action": "SDP_ANSWER", "messagePayload": "not base64!"},
        {"action": "SDP_ANSWER"},
        {"action": "SDP_ANSWER", "messagePayload": payload({})},  # no recipient
    ],
)
def test_malformed_messages_from_the_master_are_refused(kvs, peers, message):
    master = peers(master_url(kvs))
    viewer = peers(viewer_url(kvs, "v1"))
    master.send(**message, correlationId="bad")
    status = master.receive()
    assert status["statusResponse"]["errorType"] == "InvalidArgumentException"
    assert viewer.receive(timeout=0.3) is None


def test_go_away_and_reconnect_ice_server_reach_every_client(kvs, peers, loop):
    master, viewer = peers(master_url(kvs)), peers(viewer_url(kvs, "v1"))
    loop.run(kvs.reconnect_ice_server(ROBOT))
    assert master.receive() == viewer.receive() == {"messageType": "RECONNECT_ICE_SERVER"}
    loop.run(kvs.go_away(ROBOT))
    assert master.receive() == viewer.receive() == {"messageType": "GO_AWAY"}
    assert kvs.connected(ROBOT) == (False, [])

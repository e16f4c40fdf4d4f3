"""The local KVS signaling service against KVS's protocol, with botocore's real request path
and signer: signatures checked, presigned URLs expire, messages routed by client id."""

from __future__ import annotations

import base64
import datetime
import json
import time

import botocore.auth
import botocore.exceptions
import pytest
from botocore.credentials import ReadOnlyCredentials

from cloud.viewer.app import presign_connect_url
from sim.aws.kvs_signaling import MAX_VIEWERS, KvsSignalingService, Limits, Role
from tests.sim_aws.conftest import (
    REGION,
    ROBOT,
    ROBOT_KEYS,
    VIEWER_KEYS,
    client,
    handshake_status,
)


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
    _, viewer_endpoints = channel_endpoints(kvs, VIEWER_KEYS, "VIEWER")
    # A host per role, TLS, at path / (AWS: wss://m-….kinesisvideo… and wss://v-…).
    assert endpoints["WSS"] == kvs.wss(Role.MASTER) and endpoints["WSS"].startswith("wss://")
    assert viewer_endpoints["WSS"] == kvs.wss(Role.VIEWER) != endpoints["WSS"]
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


def test_a_created_channel_is_creating_then_active(loop, store, certs):
    kvs = loop.enter(
        KvsSignalingService(store, certs.server, region=REGION, limits=Limits(activation_s=0.5))
    )
    kinesisvideo = client("kinesisvideo", kvs.url, ROBOT_KEYS)
    assert (
        refusal(kinesisvideo.describe_signaling_channel, ChannelName=ROBOT)[0]
        == "ResourceNotFoundException"
    )
    unvalidated = client("kinesisvideo", kvs.url, ROBOT_KEYS, validate=False)
    for ttl in (4, 121):
        assert refusal(
            unvalidated.create_signaling_channel,
            ChannelName=ROBOT,
            SingleMasterConfiguration={"MessageTtlSeconds": ttl},
        ) == ("InvalidArgumentException", 400)
    arn = kinesisvideo.create_signaling_channel(
        ChannelName=ROBOT,
        ChannelType="SINGLE_MASTER",
        SingleMasterConfiguration={"MessageTtlSeconds": 30},
    )["ChannelARN"]
    info = kinesisvideo.describe_signaling_channel(ChannelARN=arn)["ChannelInfo"]
    assert info["ChannelStatus"] == "CREATING"
    assert info["SingleMasterConfiguration"] == {"MessageTtlSeconds": 30}
    endpoint = {
        "ChannelARN": arn,
        "SingleMasterChannelEndpointConfiguration": {"Protocols": ["WSS"], "Role": "MASTER"},
    }
    assert refusal(kinesisvideo.get_signaling_channel_endpoint, **endpoint)[0] == (
        "ResourceInUseException"
    )
    deadline = time.monotonic() + 5
    while (
        kinesisvideo.describe_signaling_channel(ChannelARN=arn)["ChannelInfo"]["ChannelStatus"]
        != "ACTIVE"
    ):
        assert time.monotonic() < deadline, "the channel never became ACTIVE"
        time.sleep(0.05)
    assert kinesisvideo.get_signaling_channel_endpoint(**endpoint)["ResourceEndpointList"]


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
    # A client id on a master's URL is ignored, as AWS ignores it.
    assert (
        handshake_status(
            loop, presign_connect_url(master["WSS"], arn, "v1", ROBOT_KEYS, REGION, 60)
        )
        == 101
    )
    # A viewer without a client id, a viewer id KVS reserves: 400.
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


def test_the_newest_master_wins_without_a_go_away(kvs, peers):
    first = peers(master_url(kvs))
    second = peers(master_url(kvs))
    assert first.receive() is None and first.closed  # closed, with no message first
    viewer = peers(viewer_url(kvs, "v1"))
    viewer.send(action="SDP_OFFER", messagePayload=payload({"sdp": "x"}))
    assert second.receive()["senderClientId"] == "v1"


def test_the_newest_viewer_with_a_client_id_wins(kvs, peers):
    old = peers(viewer_url(kvs, "v1"))
    peers(viewer_url(kvs, "v1"))
    assert old.receive() is None and old.closed
    assert kvs.connected(ROBOT) == (False, ["v1"])


def test_more_than_ten_viewers_are_refused(kvs, peers, loop):
    for number in range(MAX_VIEWERS):
        peers(viewer_url(kvs, f"v{number}"))
    assert handshake_status(loop, viewer_url(kvs, "one-too-many")) == 400
    assert handshake_status(loop, viewer_url(kvs, "v3")) == 101  # a known viewer reconnects


def test_messages_to_an_absent_master_wait_for_it(kvs, peers):
    viewer = peers(viewer_url(kvs, "v1"))
    offer = payload({"type": "offer", "sdp": "v=0"})
    candidate = payload({"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host"})
    viewer.send(action="SDP_OFFER", messagePayload=offer, correlationId="c-1")
    viewer.send(action="ICE_CANDIDATE", messagePayload=candidate)
    assert viewer.receive(timeout=0.3) is None  # no STATUS_RESPONSE: queued, as in AWS
    master = peers(master_url(kvs))
    assert master.receive() == {
        "messageType": "SDP_OFFER",
        "messagePayload": offer,
        "senderClientId": "v1",
    }
    assert master.receive()["messageType"] == "ICE_CANDIDATE"


def test_queued_messages_expire_after_the_channels_message_ttl(kvs, peers):
    kvs.channels[ROBOT].message_ttl_s = 0.5  # MessageTtlSeconds, shortened
    viewer, url = peers(viewer_url(kvs, "v1")), master_url(kvs)
    viewer.send(action="SDP_OFFER", messagePayload=payload({"sdp": "old"}))
    time.sleep(0.6)
    viewer.send(action="SDP_OFFER", messagePayload=payload({"sdp": "new"}))
    master = peers(url)
    assert json.loads(base64.b64decode(master.receive()["messagePayload"])) == {"sdp": "new"}
    assert master.receive(timeout=0.3) is None


def test_a_message_to_an_absent_viewer_gets_a_status_response_when_correlated(kvs, peers):
    master = peers(master_url(kvs))
    master.send(
        action="SDP_ANSWER",
        messagePayload=payload({}),
        recipientClientId="ghost",
        correlationId="c-2",
    )
    status = master.receive()
    assert status["messageType"] == "STATUS_RESPONSE"
    assert status["statusResponse"]["correlationId"] == "c-2"
    assert status["statusResponse"]["errorType"] and status["statusResponse"]["statusCode"]
    master.send(action="SDP_ANSWER", messagePayload=payload({}), recipientClientId="ghost")
    assert master.receive(timeout=0.3) is None  # without a correlation id: dropped silently


def test_field_names_are_read_as_the_c_sdk_capitalises_them(kvs, peers):
    master, viewer = peers(master_url(kvs)), peers(viewer_url(kvs, "v1"))
    answer = payload({"type": "answer", "sdp": "v=0"})
    master.send(action="SDP_ANSWER", MessagePayload=answer, RecipientClientId="v1")
    assert viewer.receive() == {"messageType": "SDP_ANSWER", "messagePayload": answer}
    master.send(
        action="SDP_ANSWER", MessagePayload=answer, RecipientClientId="nobody", CorrelationId="c"
    )
    assert master.receive()["statusResponse"]["correlationId"] == "c"


def test_a_recipient_named_by_a_viewer_is_ignored(kvs, peers):
    master, viewer = peers(master_url(kvs)), peers(viewer_url(kvs, "v1"))
    viewer.send(action="SDP_OFFER", messagePayload=payload({}), recipientClientId="someone")
    assert master.receive()["senderClientId"] == "v1"


def test_a_payload_over_10_kb_is_refused(kvs, peers):
    master, viewer = peers(master_url(kvs)), peers(viewer_url(kvs, "v1"))
    big = base64.b64encode(b"x" * 7680).decode()  # 10240 characters: the most allowed
    master.send(action="SDP_ANSWER", messagePayload=big, recipientClientId="v1")
    assert viewer.receive()["messagePayload"] == big
    bigger = base64.b64encode(b"x" * 7683).decode()
    master.send(
        action="SDP_ANSWER", messagePayload=bigger, recipientClientId="v1", correlationId="big"
    )
    status = master.receive()["statusResponse"]
    assert (status["correlationId"], status["errorType"]) == ("big", "InvalidArgumentException")
    assert viewer.receive(timeout=0.3) is None


@pytest.mark.parametrize(("action", "per_second"), [("SDP_ANSWER", 5), ("ICE_CANDIDATE", 20)])
def test_answers_and_candidates_are_limited_per_connection(kvs, peers, action, per_second):
    master, viewer = peers(master_url(kvs)), peers(viewer_url(kvs, "v1"))
    started = time.monotonic()
    for number in range(per_second + 1):
        master.send(
            action=action,
            messagePayload=payload({"n": number}),
            recipientClientId="v1",
            correlationId=f"m{number}",
        )
    delivered = [viewer.receive(timeout=0.3) for _ in range(per_second + 1)]
    if time.monotonic() - started >= 1.0:
        pytest.fail("the messages did not go out within one second; nothing was measured")
    assert None not in delivered[:per_second] and delivered[per_second] is None
    status = master.receive()["statusResponse"]
    assert (status["correlationId"], status["errorType"]) == (
        f"m{per_second}",
        "ClientLimitExceededException",
    )


def test_idle_and_old_connections_are_closed(loop, store, certs, peers):
    kvs = loop.enter(
        KvsSignalingService(
            store,
            certs.server,
            region=REGION,
            channels=[ROBOT],
            limits=Limits(idle_s=0.5, connection_s=1.5),
        )
    )
    idle = peers(viewer_url(kvs, "v1"))
    busy = peers(master_url(kvs))
    opened = time.monotonic()
    while not busy.closed:  # each message to nobody, dropped, but a frame from the client
        busy.send(action="SDP_ANSWER", messagePayload=payload({}), recipientClientId="nobody")
        busy.receive(timeout=0.2)
        assert time.monotonic() - opened < 5, "the busy connection was never closed"
    lived = time.monotonic() - opened
    assert idle.receive(timeout=1) is None and idle.closed
    assert 1.3 < lived < 3.0, f"the busy connection lived {lived:.1f} s, not about 1.5 s"


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

"""The signaling master's side of KVS's messages on its own: the real ``Master`` with its
aiortc peer connections, a real aiortc viewer's offer, and a socket that records what the
master sends (a fake socket: the service's side is tested against the stand-in in
tests/media and tests/sim_aws)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from typing import Any

import pytest
from aiortc import RTCPeerConnection
from botocore.credentials import Credentials

from robot.contracts.video import bitrates
from robot.producer.cameras import open_camera
from robot.producer.feeds import FrameFeed
from robot.producer.kvs import SignalingChannel
from robot.producer.master import ANSWERS_PER_S, MAX_BACKOFF_S, SEND_TRIES, Master, backoff


class FakeSocket:
    """Records what the master sends on its signaling socket."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_json(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


def event(kind: str, sender: str, payload: dict[str, Any]) -> str:
    encoded = base64.b64encode(json.dumps(payload).encode()).decode()
    return json.dumps({"messageType": kind, "senderClientId": sender, "messagePayload": encoded})


async def trickled_offer() -> tuple[RTCPeerConnection, str, list[str]]:
    """A viewer's offer without its candidates, and the candidates, as a browser trickles
    them."""
    viewer = RTCPeerConnection()
    viewer.addTransceiver("video", direction="recvonly")
    await viewer.setLocalDescription(await viewer.createOffer())
    lines = viewer.localDescription.sdp.split("\r\n")
    found = [line[2:] for line in lines if line.startswith("a=candidate:")]
    kept = [line for line in lines if not line.startswith(("a=candidate:", "a=end-of-candidates"))]
    return viewer, "\r\n".join(kept), found


def pattern_feed() -> FrameFeed:
    """The test pattern's frames, as the producer feeds them to its viewers."""
    return FrameFeed(open_camera("testpattern", {}), bitrates("testpattern", "h264", {}))


async def until(condition: Any, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def test_candidates_before_the_offer_and_their_end_reach_the_peer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def run() -> None:
        camera = pattern_feed()
        channel = SignalingChannel("r1", "us-east-1", Credentials("AKID", "secret"))
        master = Master(channel, camera, loopback_candidates=True)
        socket = FakeSocket()
        viewer, sdp, trickled = await trickled_offer()
        try:
            assert trickled, "the viewer gathered candidates"
            for candidate in trickled:  # KVS may deliver them before the offer
                payload = {"candidate": candidate, "sdpMid": "0", "sdpMLineIndex": 0}
                await master._handle(socket, event("ICE_CANDIDATE", "v1", payload))
            await master._handle(socket, event("ICE_CANDIDATE", "v1", {"candidate": ""}))
            await master._handle(socket, event("SDP_OFFER", "v1", {"type": "offer", "sdp": sdp}))
            await until(lambda: socket.sent)
            answer = socket.sent[0]
            assert (answer["action"], answer["recipientClientId"]) == ("SDP_ANSWER", "v1")
            ice = master.peers["v1"].pc.getTransceivers()[0].receiver.transport.transport
            await until(lambda: len(ice.getRemoteCandidates()) == len(trickled))
            # aiortc keeps the end of the remote candidates on its ICE connection only.
            await until(lambda: ice._connection._remote_candidates_end)
            status = {
                "messageType": "STATUS_RESPONSE",
                "statusResponse": {
                    "correlationId": answer["correlationId"],
                    "errorType": "InvalidArgumentException",
                    "statusCode": "400",
                    "description": "the recipient is not connected",
                },
            }
            with caplog.at_level(logging.WARNING, "robot.producer.master"):
                await master._handle(socket, json.dumps(status))
            assert "refused SDP_ANSWER to v1: 400 InvalidArgumentException" in caplog.text
        finally:
            await viewer.close()
            for peer in list(master.peers.values()):
                await peer.close()
            camera.stop()

    asyncio.run(run())


def test_answers_are_paced_under_the_services_rate() -> None:
    async def run() -> list[float]:
        camera = pattern_feed()
        master = Master(SignalingChannel("r1", "us-east-1", Credentials("AKID", "secret")), camera)
        turns = []
        for _ in range(2 * ANSWERS_PER_S + 1):
            await master.answer_turn()
            turns.append(time.monotonic())
        camera.stop()
        return turns

    turns = asyncio.run(run())
    for first, later in zip(turns, turns[ANSWERS_PER_S:], strict=False):
        assert later - first >= 0.99, "more answers within one second than the service takes"


def test_reconnects_back_off_doubling_capped_and_jittered() -> None:
    for failures in range(1, 10):
        full = min(2.0 ** (failures - 1), MAX_BACKOFF_S)
        delays = {backoff(failures) for _ in range(50)}
        assert all(full / 2 <= delay <= full for delay in delays)
        assert len(delays) > 1, "jittered"


def test_an_answer_refused_for_the_rate_is_sent_again_a_few_times() -> None:
    async def run() -> list[dict[str, Any]]:
        video = pattern_feed()
        master = Master(SignalingChannel("r1", "us-east-1", Credentials("AKID", "secret")), video)
        socket = FakeSocket()
        await master.send(socket, "SDP_ANSWER", "v1", {"type": "answer", "sdp": "v=0"})
        for tries in range(1, SEND_TRIES + 2):
            refused = {
                "messageType": "STATUS_RESPONSE",
                "statusResponse": {
                    "correlationId": socket.sent[-1]["correlationId"],
                    "errorType": "ClientLimitExceededException",
                    "statusCode": "400",
                },
            }
            await master._handle(socket, json.dumps(refused))
            if tries < SEND_TRIES:
                await until(lambda expected=tries + 1: len(socket.sent) == expected)
        await asyncio.gather(*master._tasks)  # any resend is spawned by _handle itself
        video.stop()
        return socket.sent

    sent = asyncio.run(run())
    assert len(sent) == SEND_TRIES
    assert {message["messagePayload"] for message in sent} == {sent[0]["messagePayload"]}
    assert len({message["correlationId"] for message in sent}) == SEND_TRIES

"""The signaling master: answers viewers' offers with aiortc, several viewers at once.

One WebSocket to the channel at a time. Each viewer (by its client id) gets its own
``RTCPeerConnection`` fed from the one camera through aiortc's ``MediaRelay``, which drops
frames rather than queueing them when a viewer falls behind. Messages:

- ``SDP_OFFER`` from a viewer: a new peer connection (replacing that viewer's old one);
  the answer carries every local candidate (aiortc gathers before answering);
- ``ICE_CANDIDATE`` from a viewer: added to its connection (kept until the offer is in);
- ``GO_AWAY``: the service wants this socket closed: reconnect at once, keeping the peers;
- ``RECONNECT_ICE_SERVER``: fetch the ICE servers again for the connections to come;
- ``STATUS_RESPONSE``: an error the service reports about a message we sent (logged).

A lost socket is reconnected with a backoff; peer connections live on meanwhile. The
producer reports readiness and the number of connected viewers on its output. A data channel
a viewer opens goes to ``operators`` (robot/producer/consoles.py): consoles drive through it.
Each peer holds a slot (robot/producer/slots.py): lent while it connects and proves itself,
taken back when it does not, so that nobody who may only watch can keep drivers out.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp
import botocore.exceptions
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.sdp import candidate_from_sdp

from robot.producer import candidates
from robot.producer.audio import AudioEngine
from robot.producer.consoles import Operators
from robot.producer.credentials import CredentialsError
from robot.producer.kvs import ChannelEndpoints, IceServer, SignalingChannel
from robot.producer.slots import DEFAULT_LIMITS, SlotLimits, Slots

log = logging.getLogger(__name__)

SWEEP_S = 1.0  # how often peers whose slot's loan ran out are looked for
RECONNECT_ATTEMPTS = 5
# What a reconnect may run into: the network, the service, the credentials provider.
RETRYABLE = (
    aiohttp.ClientError,
    OSError,
    TimeoutError,
    botocore.exceptions.BotoCoreError,
    botocore.exceptions.ClientError,
    CredentialsError,
)
CODECS = {"h264": "video/H264", "vp8": "video/VP8"}


class SignalingLost(RuntimeError):
    pass


class Master:
    def __init__(
        self,
        channel: SignalingChannel,
        camera: MediaStreamTrack,
        codec: str = "h264",
        report: Callable[[str, Any], None] | None = None,
        operators: Operators | None = None,
        limits: SlotLimits = DEFAULT_LIMITS,
        loopback_candidates: bool = False,
        audio: AudioEngine | None = None,
    ) -> None:
        """``loopback_candidates``: whether viewers may name this machine's loopback
        addresses (robot/producer/candidates.py), as the simulator's do. ``audio``: the
        robot's microphone and speaker, for viewers whose offer has audio."""
        self.channel = channel
        self.loopback_candidates = loopback_candidates
        self.operators = operators
        self.slots = Slots(limits, consoles=operators is not None)
        if operators is not None:
            operators.host = self
        self.camera = camera
        self.audio = audio
        self.codec = CODECS[codec]
        self.report = report or (lambda kind, value: None)
        self.relay = MediaRelay()
        self.peers: dict[str, _Peer] = {}
        self._ice: list[IceServer] = []
        self._endpoints: ChannelEndpoints | None = None  # once a connection got that far
        self._viewers = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._serial = 0

    async def serve(self) -> None:
        """Connect and answer viewers until cancelled. Raises SignalingLost when the channel
        cannot be reached at the start, or after ``RECONNECT_ATTEMPTS`` tries in a row."""
        failures = 0
        sweeper = asyncio.create_task(self._sweep())
        async with aiohttp.ClientSession() as http:
            try:
                while True:
                    try:
                        await self._connect_and_serve(http)
                        failures = 0  # a GO_AWAY or a clean close: connect again at once
                    except RETRYABLE as exc:
                        failures += 1
                        if self._endpoints is None or failures >= RECONNECT_ATTEMPTS:
                            raise SignalingLost(f"signaling unreachable: {exc}") from exc
                        log.warning("signaling lost (%s); reconnecting", exc)
                        await asyncio.sleep(min(2 ** (failures - 1), 16))
            finally:
                sweeper.cancel()
                await asyncio.gather(*(peer.close() for peer in list(self.peers.values())))

    async def _sweep(self) -> None:
        """Close the peers whose slot's loan ran out."""
        while True:
            await asyncio.sleep(SWEEP_S)
            for key in self.slots.overdue():
                peer = self._peer(key)
                log.warning("closing viewer %s: it did not prove itself in time", key)
                if peer is None:
                    self.slots.release(key)
                else:
                    await peer.close()

    def _peer(self, key: str) -> _Peer | None:
        return next((peer for peer in self.peers.values() if peer.key == key), None)

    async def _connect_and_serve(self, http: aiohttp.ClientSession) -> None:
        endpoints = await self.channel.endpoints()
        self._ice = await self.channel.ice_servers(endpoints)
        url = await self.channel.presigned_url(endpoints)
        self._endpoints = endpoints
        async with http.ws_connect(
            url, heartbeat=30, timeout=aiohttp.ClientWSTimeout(ws_close=5)
        ) as socket:
            log.info("connected to signaling channel %s", endpoints.arn)
            self.report("ready", None)
            async for message in socket:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                if await self._handle(socket, message.data) == "GO_AWAY":
                    log.info("GO_AWAY: reconnecting")
                    return

    async def _handle(self, socket: aiohttp.ClientWebSocketResponse, text: str) -> str | None:
        try:
            message = json.loads(text)
            kind = message.get("messageType")
        except (ValueError, AttributeError):
            log.warning("unreadable signaling message: %.200s", text)
            return None
        if kind == "GO_AWAY":
            return kind
        if kind == "RECONNECT_ICE_SERVER" and self._endpoints is not None:
            self._ice = await self.channel.ice_servers(self._endpoints)
        elif kind == "STATUS_RESPONSE":
            log.warning("signaling refused a message: %s", message.get("statusResponse"))
        elif kind in ("SDP_OFFER", "ICE_CANDIDATE"):
            sender = message.get("senderClientId")
            try:
                payload = json.loads(base64.b64decode(message["messagePayload"]))
            except (KeyError, ValueError, TypeError):
                log.warning("bad %s payload from %s", kind, sender)
                return None
            if not isinstance(sender, str) or not isinstance(payload, dict):
                return None
            if kind == "SDP_OFFER":
                self._offer(socket, sender, payload)
            elif sender in self.peers:
                self.peers[sender].candidate(payload)
        return None

    def _offer(
        self, socket: aiohttp.ClientWebSocketResponse, viewer: str, offer: dict[str, Any]
    ) -> None:
        old = self.peers.pop(viewer, None)
        if old is not None:
            self.slots.release(old.key)
            self.spawn(old.close())
        self._serial += 1
        key = f"{viewer}#{self._serial}"
        if not self.slots.offer(key):
            log.warning("refusing viewer %s: every slot is taken", viewer)
            return
        peer = _Peer(self, viewer, key)
        self.peers[viewer] = peer
        self.spawn(peer.answer(socket, offer))

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` beside the message loop, holding on to it until it is done."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def peer_changed(self) -> None:
        viewers = sum(1 for peer in self.peers.values() if peer.connected)
        if viewers != self._viewers:
            self._viewers = viewers
            self.report("viewers", viewers)

    def forget(self, peer: _Peer) -> None:
        self.slots.release(peer.key)
        if self.peers.get(peer.viewer) is peer:
            del self.peers[peer.viewer]
        self.peer_changed()

    # The consoles' Host (robot/producer/consoles.py).
    def welcomed(self, peer: str, subject: str, drives: bool) -> str | None:
        return self.slots.welcome(peer, subject, drives)

    def farewell(self, peer: str, subject: str, last: bool) -> None:
        self.slots.farewell(peer, subject)
        found = self._peer(peer)
        if last and found is not None:
            log.info("viewer %s: its last console ended; closing it", peer)
            self.spawn(found.close())


class _Peer:
    """One viewer's connection."""

    def __init__(self, master: Master, viewer: str, key: str) -> None:
        self.master = master
        self.viewer = viewer
        self.key = key  # its slot, and its consoles' peer
        self.connected = False
        self._pending: list[dict[str, Any]] | None = []  # candidates before the offer is in
        config = RTCConfiguration(
            iceServers=[
                RTCIceServer(server.urls, server.username, server.credential)
                for server in master._ice
            ]
        )
        self.pc = RTCPeerConnection(config)
        self.pc.on("connectionstatechange", self._state_changed)
        if master.operators is not None:
            operators = master.operators
            self.pc.on("datachannel", lambda channel: operators.attach(channel, key))

    async def answer(self, socket: aiohttp.ClientWebSocketResponse, offer: dict[str, Any]) -> None:
        try:
            # The transceiver and its codec go in before the offer: aiortc settles the
            # codecs while it applies the offer, and takes this transceiver for its video.
            transceiver = self.pc.addTransceiver(
                self.master.relay.subscribe(self.master.camera, buffered=False),
                direction="sendonly",
            )
            transceiver.setCodecPreferences(
                [
                    codec
                    for codec in RTCRtpSender.getCapabilities("video").codecs
                    if codec.mimeType == self.master.codec
                ]
            )
            sdp = candidates.filter_sdp(offer["sdp"], self.master.loopback_candidates)
            if self.master.audio is not None and "m=audio" in sdp:
                self.master.audio.attach(self.pc, self.key, self._may_speak)
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            answer = {"type": "answer", "sdp": self.pc.localDescription.sdp}
            await socket.send_json(
                {
                    "action": "SDP_ANSWER",
                    "messagePayload": base64.b64encode(json.dumps(answer).encode()).decode(),
                    "recipientClientId": self.viewer,
                }
            )
            log.info("answered viewer %s", self.viewer)
            # After the answer: resolving a browser's mDNS (.local) candidate can take seconds.
            pending, self._pending = self._pending or [], None
            for candidate in pending:
                self.master.spawn(self._add(candidate))
        except Exception as exc:  # one viewer's bad offer must not end the producer
            log.warning("could not answer viewer %s: %s", self.viewer, exc)
            await self.close()

    def candidate(self, payload: dict[str, Any]) -> None:
        if not self.master.slots.candidate(self.key):
            return  # past the cap: each one is checks sent to an address the viewer chose
        if self._pending is not None:
            self._pending.append(payload)
        else:
            self.master.spawn(self._add(payload))

    async def _add(self, payload: dict[str, Any]) -> None:
        text = payload.get("candidate")
        if not isinstance(text, str) or not text:
            return  # the end of the viewer's candidates
        with contextlib.suppress(ValueError, IndexError):
            candidate = candidate_from_sdp(text.split(":", 1)[1])
            if not candidates.allowed(candidate.ip, self.master.loopback_candidates):
                log.info("viewer %s: candidate %s refused", self.viewer, candidate.ip)
                return
            candidate.sdpMid = payload.get("sdpMid")
            candidate.sdpMLineIndex = payload.get("sdpMLineIndex")
            await self.pc.addIceCandidate(candidate)

    async def _state_changed(self) -> None:
        state = self.pc.connectionState
        log.info("viewer %s: %s", self.viewer, state)
        self.connected = state == "connected"
        if self.connected:
            self.master.slots.connected(self.key)
        if state in ("failed", "closed"):
            await self.close()
        else:
            self.master.peer_changed()

    def _may_speak(self) -> bool:
        operators = self.master.operators
        return operators is not None and operators.drives_on(self.key)

    async def close(self) -> None:
        self.connected = False
        self.master.forget(self)
        if self.master.audio is not None:
            self.master.audio.forget(self.key)
        await self.pc.close()

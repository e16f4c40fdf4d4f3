"""The signaling master: answers viewers' offers with aiortc, several viewers at once.

One WebSocket to the channel at a time. Each viewer (by its client id) gets its own
``RTCPeerConnection`` fed from the one camera's feed (robot/producer/feeds.py), which tells
the video what the viewer's feedback asks (a key frame, a bitrate). Messages:

- ``SDP_OFFER`` from a viewer: a new peer connection (replacing that viewer's old one);
  the answer carries every local candidate (aiortc gathers before answering); answers are
  paced under the service's 5 a second per connection;
- ``ICE_CANDIDATE`` from a viewer: added to its connection; one that arrives before its
  offer (KVS does not keep the order) waits for it, per sender; an empty one is the viewer's
  end-of-candidates, passed on to aiortc, whose ICE can only fail after it;
- ``GO_AWAY``: the service wants this socket closed: reconnect at once, keeping the peers;
- ``RECONNECT_ICE_SERVER``: fetch the ICE servers again for the connections to come (they are
  also fetched again before their credentials expire: robot/producer/ice.py);
- ``STATUS_RESPONSE``: an error the service reports about a message we sent, each of which
  carries a correlation id: logged with what it was; one refused for the rate (answers that
  bunched on their way) is sent again in turn, up to ``SEND_TRIES`` times.

A lost or closed socket (the service closes idle ones, and each after an hour) is
reconnected, after a failure with a jittered backoff; peer connections live on meanwhile. The
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
import random
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
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
from aiortc.sdp import candidate_from_sdp
from yarl import URL

from robot.producer import candidates, feedback
from robot.producer.audio import AudioEngine
from robot.producer.consoles import Operators
from robot.producer.credentials import CredentialsError
from robot.producer.feeds import VideoFeed
from robot.producer.ice import IceServers
from robot.producer.kvs import ChannelEndpoints, IceServer, SignalingChannel
from robot.producer.slots import DEFAULT_LIMITS, SlotLimits, Slots

log = logging.getLogger(__name__)

SWEEP_S = 1.0  # how often peers whose slot's loan ran out are looked for
RECONNECT_ATTEMPTS = 5
MAX_BACKOFF_S = 16.0
ANSWERS_PER_S = 4  # under the service's 5 SDP answers a second per connection
# Memory of what was sent (for STATUS_RESPONSEs) and of candidates before their offer.
REMEMBERED_MESSAGES = 256
SEND_TRIES = 3  # a message the service refused for its rate is sent again, this often at most
EARLY_SENDERS = 32
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


def backoff(failures: int) -> float:
    """Seconds before reconnecting after ``failures`` failures in a row: doubling, capped,
    jittered (half to all of it) so that robots that lost the service together do not
    come back together."""
    return min(2.0 ** (failures - 1), MAX_BACKOFF_S) * random.uniform(0.5, 1.0)


class Master:
    def __init__(
        self,
        channel: SignalingChannel,
        video: VideoFeed,
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
        self.video = video
        self.audio = audio
        self.codec = CODECS[codec]
        self.report = report or (lambda kind, value: None)
        self.peers: dict[str, _Peer] = {}
        self.ice = IceServers(_none)  # the channel's, once a connection got that far
        self._endpoints: ChannelEndpoints | None = None  # once a connection got that far
        self._viewers = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._serial = 0
        self._sent: OrderedDict[str, _Sent] = OrderedDict()  # by correlation id
        self._answered: deque[float] = deque()  # when the last answers went
        self._refusing = 0  # refusals waiting for a turn
        # Candidates from viewers whose offer has not come yet, by sender.
        self._early: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()

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
                        await asyncio.sleep(backoff(failures))
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
        self.ice = IceServers(lambda: self.channel.ice_servers(endpoints))
        await self.ice.current()  # before the first viewer: it need not wait for them
        url = await self.channel.presigned_url(endpoints)
        self._endpoints = endpoints
        async with http.ws_connect(
            URL(url, encoded=True),  # as signed: any re-quoting would break the signature
            heartbeat=30,
            timeout=aiohttp.ClientWSTimeout(ws_close=5),
            ssl=self.channel.ssl_context(),
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
        if kind == "RECONNECT_ICE_SERVER":
            await self.ice.refresh()
        elif kind == "STATUS_RESPONSE":
            status = message.get("statusResponse") or {}
            sent = self._sent.get(str(status.get("correlationId")))
            log.warning(
                "signaling refused %s: %s %s %s",
                sent or "an unknown message",
                status.get("statusCode"),
                status.get("errorType"),
                status.get("description"),
            )
            # Over the rate (answers bunched on their way to the service): again, in turn.
            limited = status.get("errorType") == "ClientLimitExceededException"
            if limited and sent is not None and sent.tries < SEND_TRIES:
                self.spawn(self._send_again(socket, sent))
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
            else:
                self._keep_early(sender, payload)
        return None

    def _keep_early(self, sender: str, candidate: dict[str, Any]) -> None:
        """Keep a candidate that came before its viewer's offer, for that offer."""
        kept = self._early.setdefault(sender, [])
        self._early.move_to_end(sender)
        if len(kept) < self.slots.limits.candidates:
            kept.append(candidate)
        while len(self._early) > EARLY_SENDERS:
            self._early.popitem(last=False)

    async def send(
        self,
        socket: aiohttp.ClientWebSocketResponse,
        action: str,
        recipient: str,
        payload: dict[str, Any],
        tries: int = 1,
    ) -> None:
        """Send one message to a viewer, with a correlation id the service's
        STATUS_RESPONSE names it by."""
        self._serial += 1
        correlation = f"{action.lower()}-{self._serial}"
        self._sent[correlation] = _Sent(action, recipient, payload, tries)
        while len(self._sent) > REMEMBERED_MESSAGES:
            self._sent.popitem(last=False)
        await socket.send_json(
            {
                "action": action,
                "messagePayload": base64.b64encode(json.dumps(payload).encode()).decode(),
                "recipientClientId": recipient,
                "correlationId": correlation,
            }
        )

    async def _send_again(self, socket: aiohttp.ClientWebSocketResponse, sent: _Sent) -> None:
        if sent.action == "SDP_ANSWER":
            await self.answer_turn()
        await self.send(socket, sent.action, sent.recipient, sent.payload, sent.tries + 1)

    async def _refuse(
        self, socket: aiohttp.ClientWebSocketResponse, viewer: str, reason: str
    ) -> None:
        """Tell a viewer its offer is refused (docs/protocol.md), so that it tries again
        later instead of waiting for an answer. At most a second's worth of refusals wait
        for a turn (more are dropped): refused offers never hold up the answers of those
        who got a slot for longer than that."""
        if self._refusing >= ANSWERS_PER_S:
            return
        self._refusing += 1
        try:
            await self.answer_turn()
            await self.send(socket, "SDP_ANSWER", viewer, {"type": "answer", "refused": reason})
        finally:
            self._refusing -= 1

    def _answer_now(self) -> bool:
        """Take an answer's turn if one is free at once."""
        now = time.monotonic()
        while self._answered and self._answered[0] <= now - 1.0:
            self._answered.popleft()
        if len(self._answered) < ANSWERS_PER_S:
            self._answered.append(now)
            return True
        return False

    async def answer_turn(self) -> None:
        """Wait until one more answer stays under the service's rate."""
        while not self._answer_now():
            await asyncio.sleep(self._answered[0] + 1.0 - time.monotonic())

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
            self.spawn(self._refuse(socket, viewer, "every viewer slot is taken"))
            return
        peer = _Peer(self, viewer, key)
        self.peers[viewer] = peer
        for candidate in self._early.pop(viewer, []):
            peer.candidate(candidate)
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


ROUND_TRIP_PERIOD_S = 1.0  # RTCP receiver reports come about once a second


async def _none() -> list[IceServer]:
    return []


@dataclass(frozen=True)
class _Sent:
    """A message sent to a viewer, kept for the service's STATUS_RESPONSE about it."""

    action: str
    recipient: str
    payload: dict[str, Any]
    tries: int

    def __str__(self) -> str:
        return f"{self.action} to {self.recipient}"


class _Peer:
    """One viewer's connection."""

    def __init__(self, master: Master, viewer: str, key: str) -> None:
        self.master = master
        self.viewer = viewer
        self.key = key  # its slot, and its consoles' peer
        self.connected = False
        self.closed = False
        self._pending: list[dict[str, Any]] | None = []  # candidates before the offer is in
        self._track: MediaStreamTrack | None = None  # its video, once it has one
        self.pc: RTCPeerConnection | None = None  # made in answer(), with fresh ICE servers
        self.round_trip_ms: float | None = None  # from the viewer's RTCP reports on our video

    async def _connection(self) -> RTCPeerConnection:
        servers = await self.master.ice.current()
        config = RTCConfiguration(
            iceServers=[
                RTCIceServer(server.urls, server.username, server.credential) for server in servers
            ]
        )
        pc = RTCPeerConnection(config)
        pc.on("connectionstatechange", self._state_changed)
        if self.master.operators is not None:
            operators, key = self.master.operators, self.key
            pc.on(
                "datachannel",
                lambda channel: operators.attach(channel, key, lambda: self.round_trip_ms),
            )
        return pc

    async def answer(self, socket: aiohttp.ClientWebSocketResponse, offer: dict[str, Any]) -> None:
        try:
            pc = await self._connection()
            if self.closed:  # while the servers were fetched
                await pc.close()
                return
            self.pc = pc
            # The transceiver and its codec go in before the offer: aiortc settles the
            # codecs while it applies the offer, and takes this transceiver for its video.
            self._track, video = self.master.video.subscribe()
            transceiver = self.pc.addTransceiver(self._track, direction="sendonly")
            feedback.listen(transceiver.sender, video)
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
            await self.master.answer_turn()
            await self.master.send(socket, "SDP_ANSWER", self.viewer, answer)
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
        if not isinstance(text, str):
            return
        assert self.pc is not None  # candidates are added after the answer
        if not text:  # the end of the viewer's candidates: now ICE may fail
            # aiortc ends each bundled transport's candidates; the second one says so.
            with contextlib.suppress(ValueError):
                await self.pc.addIceCandidate(None)
            return
        with contextlib.suppress(ValueError, IndexError):
            candidate = candidate_from_sdp(text.split(":", 1)[1])
            if not candidates.allowed(candidate.ip, self.master.loopback_candidates):
                log.info("viewer %s: candidate %s refused", self.viewer, candidate.ip)
                return
            candidate.sdpMid = payload.get("sdpMid")
            candidate.sdpMLineIndex = payload.get("sdpMLineIndex")
            await self.pc.addIceCandidate(candidate)

    async def _state_changed(self) -> None:
        assert self.pc is not None
        state = self.pc.connectionState
        log.info("viewer %s: %s", self.viewer, state)
        was_connected, self.connected = self.connected, state == "connected"
        if self.connected:
            self.master.slots.connected(self.key)
            if not was_connected:
                self.master.spawn(self._measure_round_trip())
        if state in ("failed", "closed"):
            await self.close()
        else:
            self.master.peer_changed()

    async def _measure_round_trip(self) -> None:
        """The connection's round trip while it is up, from the receiver reports the viewer
        sends about our video (aiortc's ``remote-inbound-rtp``): the same path its data
        channel's commands take, so the daemon's link speed limit can judge them."""
        while self.connected:
            for report in (await self.pc.getStats()).values():
                if report.type == "remote-inbound-rtp" and report.roundTripTime is not None:
                    self.round_trip_ms = report.roundTripTime * 1000
            await asyncio.sleep(ROUND_TRIP_PERIOD_S)

    def _may_speak(self) -> bool:
        operators = self.master.operators
        return operators is not None and operators.drives_on(self.key)

    async def close(self) -> None:
        self.connected = False
        self.closed = True
        if self._track is not None:  # aiortc stops it only if its sender ever started
            self._track.stop()
        self.master.forget(self)
        if self.master.audio is not None:
            self.master.audio.forget(self.key)
        if self.pc is not None:
            await self.pc.close()

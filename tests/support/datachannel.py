"""A console's data channel, written with aiortc: joins the robot's channel with the session
``POST /viewer`` hands out (as the console does), opens the ``control`` data channel beside
the video, and hands out what the robot says on it."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import aiohttp
from aiortc import RTCPeerConnection, RTCSessionDescription

from tests.support import tls
from tests.support.http import post


class Refused(ConnectionError):
    """The robot refused the offer (docs/protocol.md, "Joining the video")."""


async def negotiate(pc: RTCPeerConnection, ws: Any, timeout: float = 15) -> str:
    """Send ``pc``'s offer as a KVS viewer on the signaling socket ``ws`` and apply the
    master's answer; the answer's SDP."""
    await pc.setLocalDescription(await pc.createOffer())
    offer = {"type": "offer", "sdp": pc.localDescription.sdp}
    payload = base64.b64encode(json.dumps(offer).encode()).decode()
    await ws.send_json({"action": "SDP_OFFER", "messagePayload": payload})
    async with asyncio.timeout(timeout):
        async for message in ws:
            event = json.loads(message.data)
            if event.get("messageType") == "SDP_ANSWER":
                answer = json.loads(base64.b64decode(event["messagePayload"]))
                if "refused" in answer:
                    raise Refused(answer["refused"])
                await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
                return answer["sdp"]
    raise ConnectionError("the signaling socket closed before the answer")


def viewer_session(url: str, token: str, robot: str | None = None) -> dict[str, Any]:
    """A viewer session from the simulator's front (blocking: run it in a thread)."""
    route = f"/robots/{robot}/viewer" if robot else "/viewer"
    status, _, body = post(url + route, {}, {"Authorization": f"Bearer {token}"})
    assert status == 200, body
    return body


class ConsolePeer:
    """``async with ConsolePeer(front_url, token) as peer``: connected, channel open."""

    def __init__(
        self, url: str, token: str, robot: str | None = None, answer_timeout: float = 15
    ) -> None:
        self.url, self.token, self.robot = url, token, robot
        self.answer_timeout = answer_timeout
        self.pc = RTCPeerConnection()
        self.received: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()
        self.closed = asyncio.Event()
        self.channel = self.pc.createDataChannel("control", ordered=True)

    async def __aenter__(self) -> ConsolePeer:
        session = await asyncio.to_thread(viewer_session, self.url, self.token, self.robot)
        opened = asyncio.Event()
        self.channel.on("open", opened.set)
        self.channel.on("close", self.closed.set)
        self.channel.on(
            "message",
            lambda text: self.received.put_nowait((time.monotonic(), json.loads(text))),
        )
        self.pc.addTransceiver("video", direction="recvonly")
        self.http = aiohttp.ClientSession()
        self.ws = await self.http.ws_connect(session["signalingUrl"], ssl=tls.context())
        try:
            await negotiate(self.pc, self.ws, self.answer_timeout)
            await asyncio.wait_for(opened.wait(), 15)
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.pc.close()
        await self.ws.close()
        await self.http.close()

    def send(self, message: dict[str, Any] | str) -> None:
        self.channel.send(message if isinstance(message, str) else json.dumps(message))

    async def hello(self, token: str | None = None) -> dict[str, Any]:
        """Say hello; the robot's answer (welcome or denied)."""
        self.send({"type": "hello", "token": token or self.token})
        return await self.next(lambda message: message["type"] in ("welcome", "denied"))

    async def next(self, predicate: Any, timeout: float = 10) -> dict[str, Any]:
        """The first message from now on that satisfies ``predicate``."""
        async with asyncio.timeout(timeout):
            while True:
                _, message = await self.received.get()
                if predicate(message):
                    return message

    def drain(self) -> None:
        while not self.received.empty():
            self.received.get_nowait()


class LoopbackConsole:
    """A console's ``control`` channel to a robot-side RTCPeerConnection in the same process
    (real aiortc both ends, over loopback): ``attach`` gets the robot's end of each channel.
    ``async with LoopbackConsole(attach) as console``: the channel is open."""

    def __init__(self, attach: Any) -> None:
        self.robot = RTCPeerConnection()
        self.robot.on("datachannel", attach)
        self.pc = RTCPeerConnection()
        self.channel = self.pc.createDataChannel("control", ordered=True)
        self.received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.closed = asyncio.Event()

    async def __aenter__(self) -> LoopbackConsole:
        opened = asyncio.Event()
        self.channel.on("open", opened.set)
        self.channel.on("close", self.closed.set)
        self.channel.on("message", lambda text: self.received.put_nowait(json.loads(text)))
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.robot.setRemoteDescription(self.pc.localDescription)
        await self.robot.setLocalDescription(await self.robot.createAnswer())
        await self.pc.setRemoteDescription(self.robot.localDescription)
        await asyncio.wait_for(opened.wait(), 15)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.pc.close()
        await self.robot.close()

    def send(self, message: dict[str, Any] | str) -> None:
        self.channel.send(message if isinstance(message, str) else json.dumps(message))

    async def next(self, timeout: float = 10) -> dict[str, Any]:
        return await asyncio.wait_for(self.received.get(), timeout)

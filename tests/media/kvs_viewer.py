"""A KVS WebRTC viewer written with aiortc, for tests: joins a channel as AWS's viewers do
(GetSignalingChannelEndpoint as VIEWER, a presigned ConnectAsViewer URL, SDP offer, trickled
candidates) and hands out the frames it receives with the time each arrived. With ``relay``,
it takes the TURN servers of GetIceServerConfig and uses only them (``iceTransportPolicy:
"relay"``), as a viewer behind a strict NAT must."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any
from urllib.parse import quote

import aiohttp
import botocore.session
import numpy as np
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection
from aiortc.rtcconfiguration import RTCIceTransportPolicy
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from tests.support import tls
from tests.support.datachannel import negotiate
from tests.support.stamps import read_stamp


def viewer_url(
    control_plane: str, channel: str, credentials: ReadOnlyCredentials, region: str, client_id: str
) -> str:
    """The presigned viewer URL alone."""
    return _join(control_plane, channel, credentials, region, client_id, relay=False)[0]


def _join(
    control_plane: str,
    channel: str,
    credentials: ReadOnlyCredentials,
    region: str,
    client_id: str,
    relay: bool,
) -> tuple[str, list[RTCIceServer]]:
    """The presigned viewer URL, and with ``relay`` the TURN servers of GetIceServerConfig."""
    session = botocore.session.Session()
    session.set_credentials(*credentials)
    client = session.create_client("kinesisvideo", region_name=region, endpoint_url=control_plane)
    arn = client.describe_signaling_channel(ChannelName=channel)["ChannelInfo"]["ChannelARN"]
    endpoints = client.get_signaling_channel_endpoint(
        ChannelARN=arn,
        SingleMasterChannelEndpointConfiguration={"Protocols": ["WSS", "HTTPS"], "Role": "VIEWER"},
    )["ResourceEndpointList"]
    found = {item["Protocol"]: item["ResourceEndpoint"] for item in endpoints}
    request = AWSRequest(
        "GET", f"{found['WSS']}?X-Amz-ChannelARN={quote(arn, safe='')}&X-Amz-ClientId={client_id}"
    )
    SigV4QueryAuth(credentials, "kinesisvideo", region, expires=60).add_auth(request)
    servers = []
    if relay:
        signaling = session.create_client(
            "kinesis-video-signaling", region_name=region, endpoint_url=found["HTTPS"]
        )
        answer = signaling.get_ice_server_config(ChannelARN=arn, ClientId=client_id)
        servers = [
            RTCIceServer(item["Uris"], item["Username"], item["Password"])
            for item in answer["IceServerList"]
        ]
    return request.url, servers


def negotiated_codec(sdp: str) -> str:
    """The codec the answer chose for video: the first payload type of its m=video line."""
    lines = sdp.splitlines()
    video = next(line for line in lines if line.startswith("m=video"))
    first = video.split()[3]
    rtpmap = next(line for line in lines if line.startswith(f"a=rtpmap:{first} "))
    return rtpmap.split()[1].split("/")[0]


class Frame:
    def __init__(self, image: np.ndarray, arrived_ms: float) -> None:
        self.image = image  # RGB
        self.arrived_ms = arrived_ms
        luma = image.mean(axis=2)
        self.stamp_ms = read_stamp(luma)


class KvsViewer:
    def __init__(
        self,
        control_plane: str,
        channel: str,
        credentials: ReadOnlyCredentials,
        region: str = "us-east-1",
        answer_timeout: float = 15,
        relay: bool = False,
        audio: bool = False,
    ) -> None:
        """``audio``: offer to receive the robot's microphone too (``audio_track``)."""
        self.audio = audio
        self.client_id = f"viewer-{uuid.uuid4().hex[:8]}"
        self.answer_timeout = answer_timeout
        self._join = (control_plane, channel, credentials, region, self.client_id, relay)
        self.relay = relay
        self.pc = RTCPeerConnection()
        self.track: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.audio_track: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.codec = ""

    async def __aenter__(self) -> KvsViewer:
        # botocore blocks: off the loop, which may be serving the signaling service too.
        self.url, servers = await asyncio.to_thread(_join, *self._join)
        if self.relay:
            policy = RTCIceTransportPolicy.RELAY
            self.pc = RTCPeerConnection(RTCConfiguration(servers, iceTransportPolicy=policy))
        self.http = aiohttp.ClientSession()
        self.ws = await self.http.ws_connect(self.url, ssl=tls.context())
        self.pc.on("track", self._track)
        self.pc.addTransceiver("video", direction="recvonly")
        if self.audio:
            self.pc.addTransceiver("audio", direction="recvonly")
        try:
            self.codec = negotiated_codec(await negotiate(self.pc, self.ws, self.answer_timeout))
        except BaseException:
            await self.__aexit__()
            raise
        return self

    def _track(self, track: Any) -> None:
        arrived = self.audio_track if track.kind == "audio" else self.track
        if not arrived.done():
            arrived.set_result(track)

    async def __aexit__(self, *exc_info: object) -> None:
        await self.pc.close()
        await self.ws.close()
        await self.http.close()

    async def frames(self, count: int, timeout: float = 20) -> list[Frame]:
        track = await asyncio.wait_for(asyncio.shield(self.track), timeout)
        frames = []
        async with asyncio.timeout(timeout):
            while len(frames) < count:
                frame = await track.recv()
                frames.append(Frame(frame.to_ndarray(format="rgb24"), time.time() * 1000))
        return frames

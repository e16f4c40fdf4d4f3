"""The KVS WebRTC signaling calls a master makes, through botocore, as in AWS.

``DescribeSignalingChannel`` (and ``CreateSignalingChannel`` when the channel does not exist
yet: a fleet robot's is made by its first start, ``SINGLE_MASTER``, then waited for until
``ACTIVE``) and ``GetSignalingChannelEndpoint`` (role MASTER) on the ``kinesisvideo`` client,
``GetIceServerConfig`` on the ``kinesis-video-signaling`` client at
the channel's HTTPS endpoint, and the WSS URL presigned with botocore's SigV4 query signer
(valid 300 s, the most KVS accepts: it is only needed to open the socket). botocore's
clients block, so each call runs in a worker thread; the producer's loop never waits on one.
The WSS endpoint's certificate is checked against the system's CAs and ``root_ca`` (the
robot's ``ROOT_CA_PATH``; the simulator's CA there).

The control plane is the region's, unless ``endpoint_url`` names another (the simulator's
local signaling service).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import botocore.session
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import CredentialProvider, CredentialResolver, Credentials

log = logging.getLogger(__name__)

PRESIGN_SECONDS = 300
SERVICE = "kinesisvideo"
ACTIVE_TIMEOUT_S = 60.0  # a new channel is usually ACTIVE within seconds
ACTIVE_POLL_S = 0.5


class ChannelNotActive(RuntimeError):
    """The channel the producer created did not become ACTIVE in time."""


@dataclass(frozen=True)
class ChannelEndpoints:
    arn: str
    wss: str
    https: str


@dataclass(frozen=True)
class IceServer:
    urls: list[str]
    username: str | None = None
    credential: str | None = None
    ttl_s: int | None = None  # how long the credential lives (KVS: 300 s); None: no end


class SignalingChannel:
    """One signaling channel, seen by its master."""

    def __init__(
        self,
        name: str,
        region: str,
        credentials: Credentials,
        endpoint_url: str | None = None,
        root_ca: Path | None = None,
    ) -> None:
        self.name = name
        self.root_ca = root_ca
        self.endpoint_url = endpoint_url or None
        self.region = region
        self.credentials = credentials
        self._session = botocore.session.Session()
        # Every client of this session signs with these (refreshing) credentials.
        self._session.register_component(
            "credential_provider", CredentialResolver([_Given(credentials)])
        )

    def ssl_context(self) -> ssl.SSLContext:
        """What the signaling WebSocket trusts."""
        context = ssl.create_default_context()
        if self.root_ca is not None:
            context.load_verify_locations(cafile=str(self.root_ca))
        return context

    async def endpoints(self) -> ChannelEndpoints:
        return await asyncio.to_thread(self._endpoints)

    async def ice_servers(self, endpoints: ChannelEndpoints) -> list[IceServer]:
        return await asyncio.to_thread(self._ice_servers, endpoints)

    async def presigned_url(self, endpoints: ChannelEndpoints) -> str:
        # In a thread too: the credentials may refresh themselves here, over the network.
        return await asyncio.to_thread(self._presign, endpoints)

    def _endpoints(self) -> ChannelEndpoints:
        client = self._session.create_client(
            SERVICE, region_name=self.region, endpoint_url=self.endpoint_url
        )
        arn = self._active_channel(client)
        answer = client.get_signaling_channel_endpoint(
            ChannelARN=arn,
            SingleMasterChannelEndpointConfiguration={
                "Protocols": ["WSS", "HTTPS"],
                "Role": "MASTER",
            },
        )
        found = {
            item["Protocol"]: item["ResourceEndpoint"] for item in answer["ResourceEndpointList"]
        }
        return ChannelEndpoints(arn, found["WSS"], found["HTTPS"])

    def _active_channel(self, client: Any) -> str:
        """The channel's ARN, once it is ACTIVE; created first if it does not exist."""
        try:
            info = client.describe_signaling_channel(ChannelName=self.name)["ChannelInfo"]
        except client.exceptions.ResourceNotFoundException:
            log.info("creating signaling channel %s", self.name)
            # ResourceInUse: made meanwhile (by an earlier start of ours).
            with contextlib.suppress(client.exceptions.ResourceInUseException):
                client.create_signaling_channel(ChannelName=self.name, ChannelType="SINGLE_MASTER")
            info = client.describe_signaling_channel(ChannelName=self.name)["ChannelInfo"]
        deadline = time.monotonic() + ACTIVE_TIMEOUT_S
        while info["ChannelStatus"] != "ACTIVE":
            if info["ChannelStatus"] != "CREATING" or time.monotonic() > deadline:
                raise ChannelNotActive(
                    f"signaling channel {self.name} is {info['ChannelStatus']}, not ACTIVE"
                )
            time.sleep(ACTIVE_POLL_S)
            info = client.describe_signaling_channel(ChannelName=self.name)["ChannelInfo"]
        return str(info["ChannelARN"])

    def _ice_servers(self, endpoints: ChannelEndpoints) -> list[IceServer]:
        client = self._session.create_client(
            "kinesis-video-signaling", region_name=self.region, endpoint_url=endpoints.https
        )
        answer = client.get_ice_server_config(ChannelARN=endpoints.arn, Service="TURN")
        servers = [
            IceServer(item["Uris"], item.get("Username"), item.get("Password"), item.get("Ttl"))
            for item in answer.get("IceServerList", [])
        ]
        # KVS's own STUN server is not in the answer; clients of AWS's KVS add it. A
        # signaling service elsewhere (the simulator's) has none.
        host = urlsplit(endpoints.wss).hostname or ""
        if host.endswith(".amazonaws.com") or host.endswith(".amazonaws.com.cn"):
            suffix = host.split(f".{self.region}.", 1)[-1]
            servers.insert(0, IceServer([f"stun:stun.kinesisvideo.{self.region}.{suffix}:443"]))
        return servers

    def _presign(self, endpoints: ChannelEndpoints) -> str:
        frozen = self.credentials.get_frozen_credentials()
        url = f"{endpoints.wss}?X-Amz-ChannelARN={quote(endpoints.arn, safe='')}"
        request = AWSRequest(method="GET", url=url)
        SigV4QueryAuth(frozen, SERVICE, self.region, expires=PRESIGN_SECONDS).add_auth(request)
        return request.url


class _Given(CredentialProvider):
    METHOD = "given"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Credentials:
        return self._credentials

"""A local Kinesis Video Streams WebRTC signaling service, speaking KVS's own protocol on
one port, so the robot's producer and the viewer reach it through the same botocore calls
and WebSocket messages as in AWS.

- Control plane (JSON POSTs, SigV4-signed for ``kinesisvideo``): ``/describeSignalingChannel``,
  ``/createSignalingChannel``, ``/getSignalingChannelEndpoint`` (per role, endpoints pointing
  at this service) and, on the "HTTPS" endpoint, ``/v1/get-ice-server-config``.
- Signaling: WebSocket at ``/v1/connect-as-master`` and ``/v1/connect-as-viewer``, the URL
  presigned with SigV4 (``X-Amz-ChannelARN``, ``X-Amz-ClientId`` for viewers, at most 300 s);
  a bad or expired signature is refused with 403 before the upgrade.
- Messages: clients send ``{action, messagePayload, recipientClientId?, correlationId?}``;
  recipients get ``{messageType, messagePayload, senderClientId?}``. A message that cannot
  be delivered is answered with a ``STATUS_RESPONSE`` when it carried a ``correlationId``
  (and dropped otherwise, as KVS does). One master per channel, the newest wins (the old one
  gets ``GO_AWAY`` and is closed); at most ``max_viewers`` viewers.

A browser's WebSocket carries its page's ``Origin``; given ``origins``, the service refuses
(403, before the upgrade) one that names another origin, so that only the simulator's own
console watches through it (AWS checks none: there the presigned URL alone is the key).
Clients that send no ``Origin`` (the robot's producer, aiortc viewers) are not browsers.

Every signature is checked against a :class:`~sim.aws.sigv4.CredentialStore`: credentials the
local IoT credentials provider issued, and static ones the simulator configured. Each
credential also carries what it may do (:class:`Permissions`), mirroring the IAM policies
of the SAM template. Locally the endpoints are plain ``http://`` and ``ws://`` on loopback.
``GetIceServerConfig`` answers what ``ice_servers`` makes, fresh for each call: the TURN
server's URIs with a new time-limited credential and its ``Ttl`` (sim/aws/turn.py), or, with
none given, an empty list.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from sim.aws.sigv4 import (
    CredentialStore,
    SignatureError,
    Verified,
    verify_presigned,
    verify_request,
)

log = logging.getLogger(__name__)

SERVICE = "kinesisvideo"
MAX_VIEWERS = 10
MAX_PRESIGN_SECONDS = 300
MASTER_PATH = "/v1/connect-as-master"
VIEWER_PATH = "/v1/connect-as-viewer"
ACTIONS = ("SDP_OFFER", "SDP_ANSWER", "ICE_CANDIDATE")
CLIENT_ID_RE = re.compile(r"(?!(?i:AWS_))[a-zA-Z0-9_.-]{1,256}")
CORRELATION_ID_RE = re.compile(r"[a-zA-Z0-9_.-]{1,256}")
CHANNEL_NAME_RE = re.compile(r"[a-zA-Z0-9_.-]{1,256}")
MAX_MESSAGE_BYTES = 64 * 1024

# What the SAM template's roles allow: the robot's camera role (on its own channel) and
# the viewer Lambda's role (on any robot's channel). A test keeps them equal.
MASTER_ACTIONS = frozenset(
    f"{SERVICE}:{action}"
    for action in (
        "ConnectAsMaster",
        "GetSignalingChannelEndpoint",
        "CreateSignalingChannel",
        "GetIceServerConfig",
        "DescribeSignalingChannel",
    )
)
VIEWER_ACTIONS = frozenset(
    f"{SERVICE}:{action}"
    for action in (
        "ConnectAsViewer",
        "GetSignalingChannelEndpoint",
        "GetIceServerConfig",
        "DescribeSignalingChannel",
    )
)


class KvsError(Exception):
    """An API error: ``code`` goes into ``x-amzn-ErrorType``, as botocore reads it."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class Permissions:
    """The IAM actions (``kinesisvideo:…``) a credential may use, on channels named
    ``channel`` (None: any channel)."""

    actions: frozenset[str]
    channel: str | None = None

    def allows(self, action: str, channel: str) -> bool:
        return f"{SERVICE}:{action}" in self.actions and self.channel in (None, channel)


@dataclass
class Channel:
    name: str
    arn: str
    created: float
    master: web.WebSocketResponse | None = None
    viewers: dict[str, web.WebSocketResponse] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        return {
            "ChannelName": self.name,
            "ChannelARN": self.arn,
            "ChannelType": "SINGLE_MASTER",
            "ChannelStatus": "ACTIVE",
            "CreationTime": self.created,
            "SingleMasterConfiguration": {"MessageTtlSeconds": 60},
            "Version": "1",
        }


class KvsSignalingService:
    """The service on ``host:port`` (port 0: any free port), as an async context manager.

    A credential may do what the :class:`Permissions` in its ``grants`` allow, and nothing
    if it has none.
    """

    def __init__(
        self,
        store: CredentialStore,
        *,
        region: str = "us-east-1",
        account: str = "000000000000",
        channels: Iterable[str] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        max_viewers: int = MAX_VIEWERS,
        origins: frozenset[str] | None = None,
        ice_servers: Callable[[], list[dict[str, Any]]] | None = None,
    ) -> None:
        """``origins``: the pages whose WebSockets are accepted; None: any page's.
        ``ice_servers``: the ``IceServerList`` of each ``GetIceServerConfig`` answer."""
        self.ice_servers = ice_servers or (lambda: [])
        self.store = store
        self.origins = origins
        self.region = region
        self.account = account
        self.host = host
        self.port = port
        self.max_viewers = max_viewers
        self.channels: dict[str, Channel] = {}
        for name in channels:
            self.create_channel(name)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The control-plane endpoint (``endpoint_url`` of botocore's ``kinesisvideo``)."""
        return f"http://{self.host}:{self.port}"

    async def __aenter__(self) -> KvsSignalingService:
        app = web.Application(client_max_size=MAX_MESSAGE_BYTES)
        app.router.add_post("/describeSignalingChannel", self._api(self._describe))
        app.router.add_post("/createSignalingChannel", self._api(self._create))
        app.router.add_post("/getSignalingChannelEndpoint", self._api(self._endpoint))
        app.router.add_post("/v1/get-ice-server-config", self._api(self._ice_servers))
        app.router.add_get(MASTER_PATH, self._connect_master)
        app.router.add_get(VIEWER_PATH, self._connect_viewer)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for channel in self.channels.values():
            for ws in [channel.master, *channel.viewers.values()]:
                if ws is not None:
                    await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def create_channel(self, name: str) -> Channel:
        if not CHANNEL_NAME_RE.fullmatch(name):
            raise KvsError("InvalidArgumentException", f"invalid channel name {name!r}")
        if name in self.channels:
            raise KvsError("ResourceInUseException", f"The channel {name} already exists")
        created = time.time()
        arn = (
            f"arn:aws:kinesisvideo:{self.region}:{self.account}:channel/{name}/"
            f"{int(created * 1000)}"
        )
        self.channels[name] = Channel(name, arn, round(created, 3))
        return self.channels[name]

    def connected(self, name: str) -> tuple[bool, list[str]]:
        """Whether ``name`` has a master connected, and its viewers' client ids."""
        channel = self.channels[name]
        return (channel.master is not None, sorted(channel.viewers))

    async def go_away(self, name: str) -> None:
        """Tell every client of channel ``name`` to go away, and close them, as KVS does
        during deployments."""
        channel = self.channels[name]
        for ws in [channel.master, *channel.viewers.values()]:
            if ws is not None:
                await _send(ws, {"messageType": "GO_AWAY"})
                await ws.close()

    async def reconnect_ice_server(self, name: str) -> None:
        """Send ``RECONNECT_ICE_SERVER`` to every client of channel ``name``."""
        channel = self.channels[name]
        for ws in [channel.master, *channel.viewers.values()]:
            if ws is not None:
                await _send(ws, {"messageType": "RECONNECT_ICE_SERVER"})

    # ---- control plane -----------------------------------------------------------------

    def _api(
        self, operation: Callable[[Verified, dict[str, Any]], dict[str, Any]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        """A JSON operation behind signature checking and AWS-shaped errors."""

        async def handle(request: web.Request) -> web.Response:
            body = await request.read()
            try:
                verified = verify_request(
                    self.store,
                    SERVICE,
                    request.method,
                    request.host,
                    request.rel_url.raw_path,
                    request.rel_url.raw_query_string,
                    request.headers,
                    body,
                )
                if verified.region != self.region:
                    raise KvsError(
                        "InvalidSignatureException",
                        f"Credential should be scoped to a valid region: '{self.region}'.",
                        403,
                    )
                try:
                    params = json.loads(body or b"{}")
                except ValueError:
                    params = None
                if not isinstance(params, dict):
                    raise KvsError("SerializationException", "the body is not a JSON object")
                return web.json_response(operation(verified, params))
            except (SignatureError, KvsError) as exc:
                return _error(exc.code, str(exc), exc.status)

        return handle

    def _describe(self, caller: Verified, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._find(params.get("ChannelName"), params.get("ChannelARN"))
        self._authorize(caller, "DescribeSignalingChannel", channel.name)
        return {"ChannelInfo": channel.info()}

    def _create(self, caller: Verified, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("ChannelName")
        if not isinstance(name, str):
            raise KvsError("InvalidArgumentException", "ChannelName is required")
        if params.get("ChannelType", "SINGLE_MASTER") != "SINGLE_MASTER":
            raise KvsError("InvalidArgumentException", "only SINGLE_MASTER channels exist here")
        self._authorize(caller, "CreateSignalingChannel", name)
        return {"ChannelARN": self.create_channel(name).arn}

    def _endpoint(self, caller: Verified, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._find(None, params.get("ChannelARN"))
        self._authorize(caller, "GetSignalingChannelEndpoint", channel.name)
        config = params.get("SingleMasterChannelEndpointConfiguration") or {}
        role = config.get("Role", "MASTER")
        protocols = config.get("Protocols", ["WSS", "HTTPS"])
        if (
            role not in ("MASTER", "VIEWER")
            or not isinstance(protocols, list)
            or not set(protocols) <= {"WSS", "HTTPS", "WEBRTC"}
        ):
            raise KvsError("InvalidArgumentException", "invalid endpoint configuration")
        path = MASTER_PATH if role == "MASTER" else VIEWER_PATH
        endpoints = {"WSS": f"ws://{self.host}:{self.port}{path}", "HTTPS": self.url}
        return {
            "ResourceEndpointList": [
                {"Protocol": protocol, "ResourceEndpoint": endpoints[protocol]}
                for protocol in protocols
                if protocol in endpoints
            ]
        }

    def _ice_servers(self, caller: Verified, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._find(None, params.get("ChannelARN"))
        self._authorize(caller, "GetIceServerConfig", channel.name)
        if params.get("Service", "TURN") != "TURN":
            raise KvsError("InvalidArgumentException", "Service must be TURN")
        client_id = params.get("ClientId")
        if client_id is not None and not CLIENT_ID_RE.fullmatch(str(client_id)):
            raise KvsError("InvalidArgumentException", "invalid ClientId")
        return {"IceServerList": self.ice_servers()}

    def _find(self, name: Any, arn: Any) -> Channel:
        if isinstance(name, str) and name in self.channels:
            return self.channels[name]
        if isinstance(arn, str):
            for channel in self.channels.values():
                if channel.arn == arn:
                    return channel
        if not isinstance(name, str) and not isinstance(arn, str):
            raise KvsError("InvalidArgumentException", "ChannelName or ChannelARN is required")
        raise KvsError("ResourceNotFoundException", "The requested channel is not found", 404)

    def _authorize(self, caller: Verified, action: str, channel: str) -> None:
        grants = caller.grants
        if not isinstance(grants, Permissions) or not grants.allows(action, channel):
            raise KvsError(
                "AccessDeniedException",
                f"{caller.principal} is not authorized to perform: {SERVICE}:{action} "
                f"on channel {channel}",
                403,
            )

    # ---- signaling ---------------------------------------------------------------------

    async def _connect_master(self, request: web.Request) -> web.StreamResponse:
        return await self._connect(request, viewer=False)

    async def _connect_viewer(self, request: web.Request) -> web.StreamResponse:
        return await self._connect(request, viewer=True)

    async def _connect(self, request: web.Request, viewer: bool) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None and self.origins is not None and origin not in self.origins:
            return _error("AccessDeniedException", "pages from other origins", 403)
        try:
            verified = verify_presigned(
                self.store,
                SERVICE,
                "GET",
                request.host,
                request.rel_url.raw_path,
                request.rel_url.raw_query_string,
                MAX_PRESIGN_SECONDS,
            )
            if verified.region != self.region:
                raise KvsError("AccessDeniedException", "wrong region in the credential scope", 403)
            channel = self._find(None, request.query.get("X-Amz-ChannelARN"))
            client_id = request.query.get("X-Amz-ClientId")
            if viewer and (client_id is None or not CLIENT_ID_RE.fullmatch(client_id)):
                raise KvsError("InvalidArgumentException", "a viewer needs a valid X-Amz-ClientId")
            if not viewer and client_id is not None:
                raise KvsError("InvalidArgumentException", "a master has no X-Amz-ClientId")
            self._authorize(
                verified, "ConnectAsViewer" if viewer else "ConnectAsMaster", channel.name
            )
            if (
                viewer
                and client_id not in channel.viewers
                and len(channel.viewers) >= self.max_viewers
            ):
                raise KvsError(
                    "ClientLimitExceededException",
                    f"the channel already has {self.max_viewers} viewers",
                )
        except (SignatureError, KvsError) as exc:
            return _error(exc.code, str(exc), exc.status)
        ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES, heartbeat=30)
        await ws.prepare(request)
        if viewer:
            assert client_id is not None
            previous, channel.viewers[client_id] = channel.viewers.get(client_id), ws
        else:
            previous, channel.master = channel.master, ws
        if previous is not None:  # the newest connection takes precedence
            await _send(previous, {"messageType": "GO_AWAY"})
            await previous.close()
        log.info(
            "%s connected to %s as %s",
            verified.principal,
            channel.name,
            f"viewer {client_id}" if viewer else "master",
        )
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    await self._route(channel, client_id, ws, message.data)
        finally:
            if viewer and channel.viewers.get(client_id or "") is ws:
                del channel.viewers[client_id or ""]
            elif not viewer and channel.master is ws:
                channel.master = None
        return ws

    async def _route(
        self, channel: Channel, sender: str | None, ws: web.WebSocketResponse, text: str
    ) -> None:
        """Deliver one client message; ``sender`` is the viewer's client id, None for the
        master."""
        try:
            message = json.loads(text)
        except ValueError:
            return  # nothing to correlate an answer with
        if not isinstance(message, dict):
            return
        correlation = message.get("correlationId")
        if not (isinstance(correlation, str) and CORRELATION_ID_RE.fullmatch(correlation)):
            correlation = None
        try:
            target, event = self._delivery(channel, sender, message)
        except KvsError as exc:
            if correlation is not None:
                await _send(ws, _status(correlation, exc))
            return
        if not await _send(target, event) and correlation is not None:
            await _send(ws, _status(correlation, _not_connected()))

    def _delivery(
        self, channel: Channel, sender: str | None, message: dict[str, Any]
    ) -> tuple[web.WebSocketResponse, dict[str, Any]]:
        action = message.get("action")
        payload = message.get("messagePayload")
        recipient = message.get("recipientClientId")
        if action not in ACTIONS:
            raise KvsError("InvalidArgumentException", f"unknown action {action!r}")
        if not isinstance(payload, str) or not _is_base64(payload):
            raise KvsError("InvalidArgumentException", "messagePayload must be base64")
        event = {"messageType": action, "messagePayload": payload}
        if sender is None:  # from the master: to the viewer it names
            if not isinstance(recipient, str):
                raise KvsError("InvalidArgumentException", "the master must name a recipient")
            target = channel.viewers.get(recipient)
        else:  # from a viewer: always to the master
            if recipient is not None:
                raise KvsError("InvalidArgumentException", "a viewer sends to the master only")
            target = channel.master
            event["senderClientId"] = sender
        if target is None:
            raise _not_connected()
        return target, event


def _not_connected() -> KvsError:
    return KvsError("InvalidArgumentException", "the recipient is not connected")


def _status(correlation: str, exc: KvsError) -> dict[str, Any]:
    return {
        "messageType": "STATUS_RESPONSE",
        "statusResponse": {
            "correlationId": correlation,
            "success": False,
            "errorType": exc.code,
            "statusCode": str(exc.status),
            "description": str(exc),
        },
    }


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except ValueError:
        return False
    return bool(text)


async def _send(ws: web.WebSocketResponse, event: dict[str, Any]) -> bool:
    """Send ``event``; False if the connection has gone meanwhile."""
    if ws.closed:
        return False
    try:
        await ws.send_str(json.dumps(event))
    except (ConnectionError, RuntimeError):
        return False
    return True


def _error(code: str, message: str, status: int) -> web.Response:
    return web.json_response(
        {"message": message}, status=status, headers={"x-amzn-ErrorType": code}
    )

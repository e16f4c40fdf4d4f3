"""A local Kinesis Video Streams WebRTC signaling service, speaking KVS's own protocol, so
the robot's producer and the viewers reach it through the same botocore calls and WebSocket
messages as in AWS, and meet its limits where AWS would enforce them.

- Control plane (JSON POSTs, SigV4-signed for ``kinesisvideo``): ``/describeSignalingChannel``,
  ``/createSignalingChannel`` (the channel is ``CREATING`` for ``activation_s``, then
  ``ACTIVE``), ``/getSignalingChannelEndpoint`` (per role) and, on the "HTTPS" endpoint,
  ``/v1/get-ice-server-config``.
- Signaling: a WebSocket at path ``/`` of a host per role, as AWS's ``wss://m-…`` (MASTER)
  and ``wss://v-…`` (VIEWER): here two TLS ports on loopback, with a certificate of the
  simulator's CA. The URL is presigned with SigV4 (``X-Amz-ChannelARN``, ``X-Amz-ClientId``
  for viewers, at most 300 s); a bad or expired signature is refused with 403 before the
  upgrade. A client id on a master's URL is ignored, as AWS ignores it.
- Messages: clients send ``{action, messagePayload, recipientClientId?, correlationId?}``,
  the field names read whatever the case of their first letter (the C SDK sends
  ``MessagePayload``, ``RecipientClientId``, ``CorrelationId``); recipients get
  ``{messageType, messagePayload, senderClientId?}``. A viewer's message always goes to the
  master (a recipient it names is ignored); while no master is connected it is queued for the
  channel's ``MessageTtlSeconds`` and delivered when one connects. A master's message to a
  viewer that is not connected, and a message past a limit, is answered with a
  ``STATUS_RESPONSE`` when it carried a ``correlationId`` (and dropped otherwise).
- Limits (:class:`Limits`, the service's quotas): ``messagePayload`` at most 10 KB; per
  connection 5 SDP offers, 5 SDP answers and 20 ICE candidates a second; one master per
  channel and at most 10 viewers, the newest connection of a role (or viewer client id)
  taking over without a word to the old one, which is closed; a connection is closed after
  10 minutes without a frame from its client, and after 1 hour in any case.

A browser's WebSocket carries its page's ``Origin``; given ``origins``, the service refuses
(403, before the upgrade) one that names another origin, so that only the simulator's own
console watches through it (AWS checks none: there the presigned URL alone is the key).
Clients that send no ``Origin`` (the robot's producer, aiortc viewers) are not browsers.

Every signature is checked against a :class:`~sim.aws.sigv4.CredentialStore`: credentials the
local IoT credentials provider issued, and static ones the simulator configured. Each
credential also carries what it may do (:class:`Permissions`), mirroring the IAM policies
of the SAM template. The control plane is plain ``http://`` on loopback.
``GetIceServerConfig`` answers what ``ice_servers`` makes, fresh for each call: the TURN
server's URIs with a new time-limited credential and its ``Ttl`` (sim/aws/turn.py), or, with
none given, an empty list.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import re
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiohttp import WSMsgType, web

from sim.aws.certs import Identity
from sim.aws.serving import serve
from sim.aws.sigv4 import (
    CredentialStore,
    SignatureError,
    Verified,
    verify_presigned,
    verify_request,
)

log = logging.getLogger(__name__)

SERVICE = "kinesisvideo"
MAX_PRESIGN_SECONDS = 300
ACTIONS = ("SDP_OFFER", "SDP_ANSWER", "ICE_CANDIDATE")
CLIENT_ID_RE = re.compile(r"(?!(?i:AWS_))[a-zA-Z0-9_.-]{1,256}")
CORRELATION_ID_RE = re.compile(r"[a-zA-Z0-9_.-]{1,256}")
CHANNEL_NAME_RE = re.compile(r"[a-zA-Z0-9_.-]{1,256}")
# A WebSocket frame larger than this is cut off; smaller ones past the payload limit are
# answered with an error, as the service does.
MAX_FRAME_BYTES = 64 * 1024
MESSAGE_TTL_RANGE = range(5, 121)  # CreateSignalingChannel's MessageTtlSeconds
DEFAULT_MESSAGE_TTL_S = 60
# The stand-in's own bound on what waits for an absent master, per channel.
MAX_QUEUED = 1000

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


class Role(StrEnum):
    MASTER = "MASTER"
    VIEWER = "VIEWER"


@dataclass(frozen=True)
class Limits:
    """The service's signaling quotas; tests shorten the time ones."""

    payload_bytes: int = 10 * 1024  # messagePayload, as sent (base64)
    offers_per_s: int = 5  # per connection
    answers_per_s: int = 5
    candidates_per_s: int = 20
    max_viewers: int = 10
    idle_s: float = 600.0  # no frame from the client for this long: closed
    connection_s: float = 3600.0  # the longest a connection lives
    activation_s: float = 0.5  # how long a new channel stays CREATING

    def per_second(self, action: str) -> int:
        return {
            "SDP_OFFER": self.offers_per_s,
            "SDP_ANSWER": self.answers_per_s,
            "ICE_CANDIDATE": self.candidates_per_s,
        }[action]


DEFAULT_LIMITS = Limits()
MAX_VIEWERS = DEFAULT_LIMITS.max_viewers


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
    message_ttl_s: int = DEFAULT_MESSAGE_TTL_S
    active_at: float = 0.0  # time.monotonic() from which it is ACTIVE
    master: web.WebSocketResponse | None = None
    masters: int = 0  # master connections so far: the newest one wins
    viewers: dict[str, web.WebSocketResponse] = field(default_factory=dict)
    # Viewers' messages while no master is connected: (when they expire, the event).
    queued: deque[tuple[float, dict[str, Any]]] = field(
        default_factory=lambda: deque(maxlen=MAX_QUEUED)
    )

    @property
    def status(self) -> str:
        return "ACTIVE" if time.monotonic() >= self.active_at else "CREATING"

    def info(self) -> dict[str, Any]:
        return {
            "ChannelName": self.name,
            "ChannelARN": self.arn,
            "ChannelType": "SINGLE_MASTER",
            "ChannelStatus": self.status,
            "CreationTime": self.created,
            "SingleMasterConfiguration": {"MessageTtlSeconds": self.message_ttl_s},
            "Version": "1",
        }


class _Rate:
    """How many messages of each action a connection sent in the last second."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._sent: dict[str, deque[float]] = {action: deque() for action in ACTIONS}

    def take(self, action: str) -> bool:
        now = time.monotonic()
        sent = self._sent[action]
        while sent and sent[0] <= now - 1.0:
            sent.popleft()
        if len(sent) >= self.limits.per_second(action):
            return False
        sent.append(now)
        return True


class KvsSignalingService:
    """The service on ``host`` (the control plane on ``port``, 0: any free port), as an
    async context manager. ``tls``: the certificate of the WebSocket hosts.

    A credential may do what the :class:`Permissions` in its ``grants`` allow, and nothing
    if it has none. ``channels`` exist from the start (the SAM template's); others are
    made by ``CreateSignalingChannel``.
    """

    def __init__(
        self,
        store: CredentialStore,
        tls: Identity,
        *,
        region: str = "us-east-1",
        account: str = "000000000000",
        channels: Iterable[str] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        limits: Limits = DEFAULT_LIMITS,
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
        self.limits = limits
        self.ports: dict[Role, int] = {}
        self._ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ssl.load_cert_chain(str(tls.cert), str(tls.key))
        self.channels: dict[str, Channel] = {}
        for name in channels:
            self.create_channel(name, activation_s=0.0)
        self._runners: list[web.AppRunner] = []

    @property
    def url(self) -> str:
        """The control-plane endpoint (``endpoint_url`` of botocore's ``kinesisvideo``)."""
        return f"http://{self.host}:{self.port}"

    def wss(self, role: Role) -> str:
        """The signaling endpoint of ``role``, as GetSignalingChannelEndpoint names it."""
        return f"wss://{self.host}:{self.ports[role]}"

    async def __aenter__(self) -> KvsSignalingService:
        control = web.Application(client_max_size=MAX_FRAME_BYTES)
        control.router.add_post("/describeSignalingChannel", self._api(self._describe))
        control.router.add_post("/createSignalingChannel", self._api(self._create))
        control.router.add_post("/getSignalingChannelEndpoint", self._api(self._endpoint))
        control.router.add_post("/v1/get-ice-server-config", self._api(self._ice_servers))
        self.port = await self._serve(control, self.port, None)
        for role in Role:
            app = web.Application()
            app.router.add_get("/", functools.partial(self._connect, role=role))
            self.ports[role] = await self._serve(app, 0, self._ssl)
        return self

    async def _serve(self, app: web.Application, port: int, context: ssl.SSLContext | None) -> int:
        runner, port = await serve(app, self.host, port, context)
        self._runners.append(runner)
        return port

    async def __aexit__(self, *exc_info: object) -> None:
        for channel in self.channels.values():
            for ws in [channel.master, *channel.viewers.values()]:
                if ws is not None:
                    await ws.close()
        for runner in self._runners:
            await runner.cleanup()

    def create_channel(
        self,
        name: str,
        message_ttl_s: int = DEFAULT_MESSAGE_TTL_S,
        activation_s: float | None = None,
    ) -> Channel:
        if not CHANNEL_NAME_RE.fullmatch(name):
            raise KvsError("InvalidArgumentException", f"invalid channel name {name!r}")
        if name in self.channels:
            raise KvsError("ResourceInUseException", f"The channel {name} already exists")
        created = time.time()
        arn = (
            f"arn:aws:kinesisvideo:{self.region}:{self.account}:channel/{name}/"
            f"{int(created * 1000)}"
        )
        delay = self.limits.activation_s if activation_s is None else activation_s
        self.channels[name] = Channel(
            name, arn, round(created, 3), message_ttl_s, time.monotonic() + delay
        )
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
        if not isinstance(name, str) or not CHANNEL_NAME_RE.fullmatch(name):
            raise KvsError(
                "InvalidArgumentException", "ChannelName must match [a-zA-Z0-9_.-]{1,256}"
            )
        if params.get("ChannelType", "SINGLE_MASTER") != "SINGLE_MASTER":
            raise KvsError("InvalidArgumentException", "only SINGLE_MASTER channels exist here")
        config = params.get("SingleMasterConfiguration") or {}
        ttl = (
            config.get("MessageTtlSeconds", DEFAULT_MESSAGE_TTL_S)
            if isinstance(config, dict)
            else None
        )
        if not isinstance(ttl, int) or ttl not in MESSAGE_TTL_RANGE:
            raise KvsError(
                "InvalidArgumentException", "MessageTtlSeconds must be between 5 and 120"
            )
        self._authorize(caller, "CreateSignalingChannel", name)
        return {"ChannelARN": self.create_channel(name, ttl).arn}

    def _endpoint(self, caller: Verified, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._find(None, params.get("ChannelARN"))
        self._authorize(caller, "GetSignalingChannelEndpoint", channel.name)
        if channel.status != "ACTIVE":
            raise KvsError("ResourceInUseException", f"The channel {channel.name} is not active")
        config = params.get("SingleMasterChannelEndpointConfiguration") or {}
        role = config.get("Role", "MASTER")
        protocols = config.get("Protocols", ["WSS", "HTTPS"])
        if (
            role not in tuple(Role)
            or not isinstance(protocols, list)
            or not set(protocols) <= {"WSS", "HTTPS", "WEBRTC"}
        ):
            raise KvsError("InvalidArgumentException", "invalid endpoint configuration")
        endpoints = {"WSS": self.wss(Role(role)), "HTTPS": self.url}
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

    async def _connect(self, request: web.Request, *, role: Role) -> web.StreamResponse:
        viewer = role is Role.VIEWER
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
            # A master's client id, if any, is ignored, as AWS ignores it.
            client_id = request.query.get("X-Amz-ClientId") if viewer else None
            if viewer and (client_id is None or not CLIENT_ID_RE.fullmatch(client_id)):
                raise KvsError("InvalidArgumentException", "a viewer needs a valid X-Amz-ClientId")
            self._authorize(
                verified, "ConnectAsViewer" if viewer else "ConnectAsMaster", channel.name
            )
            if (
                viewer
                and client_id not in channel.viewers
                and len(channel.viewers) >= self.limits.max_viewers
            ):
                raise KvsError(
                    "ClientLimitExceededException",
                    f"the channel already has {self.limits.max_viewers} viewers",
                )
        except (SignatureError, KvsError) as exc:
            return _error(exc.code, str(exc), exc.status)
        # Pings are read here (autoping off): a ping is a frame from the client, so it
        # keeps the connection from going idle.
        ws = web.WebSocketResponse(max_msg_size=MAX_FRAME_BYTES, autoping=False)
        await ws.prepare(request)
        if viewer:
            assert client_id is not None
            previous, channel.viewers[client_id] = channel.viewers.get(client_id), ws
        else:  # what waited for a master goes first: meanwhile viewers' messages still wait
            previous, channel.master = channel.master, None
            channel.masters += 1
        if previous is not None:  # the newest connection takes over, without a GO_AWAY
            await previous.close()
        log.info(
            "%s connected to %s as %s",
            verified.principal,
            channel.name,
            f"viewer {client_id}" if viewer else "master",
        )
        try:
            if not viewer and not await self._take_master(channel, ws):
                return ws
            await self._serve_connection(channel, client_id, ws)
        finally:
            if viewer and channel.viewers.get(client_id or "") is ws:
                del channel.viewers[client_id or ""]
            elif not viewer and channel.master is ws:
                channel.master = None
        return ws

    async def _serve_connection(
        self, channel: Channel, client_id: str | None, ws: web.WebSocketResponse
    ) -> None:
        """Route the client's messages until it closes, goes idle or reaches the longest a
        connection may live."""
        rate = _Rate(self.limits)
        closes_at = time.monotonic() + self.limits.connection_s
        while True:
            wait = min(self.limits.idle_s, closes_at - time.monotonic())
            try:
                message = await ws.receive(timeout=max(wait, 0.0))
            except TimeoutError:
                log.info("closing %s's %s: idle or too old", channel.name, client_id or "master")
                await ws.close()
                return
            if message.type == WSMsgType.PING:
                await ws.pong(message.data)
            elif message.type == WSMsgType.TEXT:
                await self._route(channel, client_id, ws, rate, message.data)
            elif message.type in (
                WSMsgType.CLOSE,
                WSMsgType.CLOSING,
                WSMsgType.CLOSED,
                WSMsgType.ERROR,
            ):
                return

    async def _take_master(self, channel: Channel, ws: web.WebSocketResponse) -> bool:
        """Deliver what waited for a master, in order, then make ``ws`` the master; False
        (and ``ws`` closed) when a newer master connected meanwhile."""
        serial = channel.masters
        while channel.queued:
            expires, event = channel.queued.popleft()
            if expires > time.monotonic():
                await _send(ws, event)
        if channel.masters != serial:
            await ws.close()
            return False
        channel.master = ws
        return True

    async def _route(
        self,
        channel: Channel,
        sender: str | None,
        ws: web.WebSocketResponse,
        rate: _Rate,
        text: str,
    ) -> None:
        """Deliver one client message; ``sender`` is the viewer's client id, None for the
        master."""
        try:
            message = json.loads(text)
        except ValueError:
            return  # nothing to correlate an answer with
        if not isinstance(message, dict):
            return
        # The service reads the fields whatever the case of their first letter.
        fields = {str(key)[:1].lower() + str(key)[1:]: value for key, value in message.items()}
        correlation = fields.get("correlationId")
        if not (isinstance(correlation, str) and CORRELATION_ID_RE.fullmatch(correlation)):
            correlation = None
        try:
            event = self._event(sender, fields)
            if not rate.take(fields["action"]):
                raise KvsError(
                    "ClientLimitExceededException",
                    f"more than {self.limits.per_second(fields['action'])} "
                    f"{fields['action']} messages a second on this connection",
                )
            if sender is None:
                target = channel.viewers.get(fields["recipientClientId"])
                if target is None or not await _send(target, event):
                    raise _not_connected()
            elif channel.master is None or not await _send(channel.master, event):
                channel.queued.append((time.monotonic() + channel.message_ttl_s, event))
        except KvsError as exc:
            if correlation is not None:
                await _send(ws, _status(correlation, exc))

    def _event(self, sender: str | None, fields: dict[str, Any]) -> dict[str, Any]:
        """What the recipient of a valid message gets."""
        action = fields.get("action")
        payload = fields.get("messagePayload")
        if action not in ACTIONS:
            raise KvsError("InvalidArgumentException", f"unknown action {action!r}")
        if not isinstance(payload, str) or not _is_base64(payload):
            raise KvsError("InvalidArgumentException", "messagePayload must be base64")
        if len(payload) > self.limits.payload_bytes:
            raise KvsError(
                "InvalidArgumentException",
                f"messagePayload is {len(payload)} bytes, more than {self.limits.payload_bytes}",
            )
        event = {"messageType": action, "messagePayload": payload}
        if sender is None:  # from the master: to the viewer it names
            if not isinstance(fields.get("recipientClientId"), str):
                raise KvsError("InvalidArgumentException", "the master must name a recipient")
        else:  # from a viewer: always to the master, whatever recipient it names
            event["senderClientId"] = sender
        return event


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

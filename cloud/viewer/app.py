"""The viewer Lambda: what a browser needs to watch a robot's camera, for nothing but the
operator's JWT.

``POST /viewer`` (the stack's own robot, ``ROBOT_NAME``) and ``POST /robots/{name}/viewer``
answer, for the robot's KVS signaling channel (named after the robot)::

    {"robot", "channelArn", "region", "clientId",
     "signalingUrl": "wss://…?X-Amz-ChannelARN=…&X-Amz-ClientId=…&X-Amz-Signature=…",
     "iceServers": [{"urls": "stun:…"}, {"urls": ["turn:…"], "username", "credential"}],
     "expiresIn": 60}

``signalingUrl`` is ``ConnectAsViewer`` presigned with SigV4 by botocore's signer, with this
Lambda's credentials, valid for ``expiresIn`` seconds (an open connection stays open);
``iceServers`` are KVS's STUN server and the TURN servers of ``GetIceServerConfig``, in the
shape ``RTCPeerConnection`` takes. The authorizer has checked the token; the grants in its
context must allow watching this robot (``robot:view``, ``robot:drive`` or ``robot:admin``).
One token subject holds at most ``URLS_PER_SUBJECT`` valid URLs at once, counted in the
DynamoDB table ``slots_table`` (:mod:`cloud.viewer.slots`); past that the answer is 429.

Settings come from the environment once per container (:meth:`Settings.from_environ`);
the simulator builds the same handler with explicit settings and clients
(:func:`make_handler`).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import botocore.exceptions
import botocore.session
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from cloud import api
from cloud.viewer.slots import URLS_PER_SUBJECT, SlotsFull, SlotsUnavailable, UrlSlots
from robot.contracts import access

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)

SERVICE = "kinesisvideo"
MAX_URL_EXPIRES = 300  # KVS refuses presigned signaling URLs valid for longer
# Channel ARNs and endpoints rarely change; looking them up once per robot per container
# saves two calls per page load.
CHANNEL_CACHE_SECONDS = 300

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class Settings:
    """``robot_name``: the robot ``POST /viewer`` is for; ``slots_table``: the DynamoDB
    table counting each subject's URLs; ``kvs_endpoint_url`` and ``dynamodb_endpoint_url``:
    services other than AWS's (the simulator's); ``stun_urls``: empty for none."""

    robot_name: str
    region: str
    slots_table: str
    cors_allow_origin: str = ""  # "": the console's origin only (cloud/api.py)
    kvs_endpoint_url: str | None = None
    dynamodb_endpoint_url: str | None = None
    urls_per_subject: int = URLS_PER_SUBJECT
    stun_urls: tuple[str, ...] = ()
    url_expires: int = 60

    def __post_init__(self) -> None:
        if not 1 <= self.url_expires <= MAX_URL_EXPIRES:
            raise ValueError(f"url_expires must be 1..{MAX_URL_EXPIRES} seconds")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """``ROBOT_NAME``, ``AWS_REGION`` (set by Lambda), ``VIEWER_SLOTS_TABLE``,
        ``CORS_ALLOW_ORIGIN``, ``VIEWER_URL_EXPIRES``; the STUN server is KVS's in the
        region."""
        region = environ.get("AWS_REGION") or environ["AWS_DEFAULT_REGION"]
        return cls(
            robot_name=environ.get("ROBOT_NAME", "robot"),
            region=region,
            slots_table=environ["VIEWER_SLOTS_TABLE"],
            cors_allow_origin=environ.get("CORS_ALLOW_ORIGIN", ""),
            stun_urls=(f"stun:stun.kinesisvideo.{region}.amazonaws.com:443",),
            url_expires=int(environ.get("VIEWER_URL_EXPIRES", "60")),
        )


@dataclass(frozen=True)
class Clients:
    """The ``kinesisvideo`` client, a ``kinesis-video-signaling`` client per endpoint, the
    credentials the signaling URL is presigned with, and the ``dynamodb`` client."""

    kinesisvideo: Any
    signaling: Callable[[str], Any]
    credentials: Callable[[], ReadOnlyCredentials]
    dynamodb: Any

    @classmethod
    def from_session(cls, session: botocore.session.Session, settings: Settings) -> Clients:
        kinesisvideo = session.create_client(
            SERVICE, region_name=settings.region, endpoint_url=settings.kvs_endpoint_url
        )
        signaling_clients: dict[str, Any] = {}
        lock = threading.Lock()

        def signaling(endpoint: str) -> Any:
            with lock:
                if endpoint not in signaling_clients:
                    signaling_clients[endpoint] = session.create_client(
                        "kinesis-video-signaling",
                        region_name=settings.region,
                        endpoint_url=endpoint,
                    )
                return signaling_clients[endpoint]

        def credentials() -> ReadOnlyCredentials:
            found = session.get_credentials()
            if found is None:
                raise botocore.exceptions.NoCredentialsError()
            return found.get_frozen_credentials()

        dynamodb = session.create_client(
            "dynamodb", region_name=settings.region, endpoint_url=settings.dynamodb_endpoint_url
        )
        return cls(kinesisvideo, signaling, credentials, dynamodb)


@dataclass(frozen=True)
class _Channel:
    arn: str
    wss: str
    https: str
    until: float


class Viewer:
    """Answers viewer requests for one set of settings and clients."""

    def __init__(
        self,
        settings: Settings,
        clients: Clients,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self._clock = clock
        self.slots = UrlSlots(
            clients.dynamodb, settings.slots_table, settings.urls_per_subject, wall_clock
        )
        self._channels: dict[str, _Channel] = {}

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        origin = self.settings.cors_allow_origin
        try:
            robot = api.robot_name(event, self.settings.robot_name)
            grants = api.grants(event)
            access.check_view(grants, robot)
            self.slots.take(grants.subject, self.settings.url_expires)
            answer = self.session(robot)
        except api.BadRequest as exc:
            return api.response(400, {"error": "bad request", "reason": str(exc)}, origin)
        except access.AccessDenied as exc:
            return api.response(403, {"error": "forbidden", "reason": str(exc)}, origin)
        except SlotsFull as exc:
            log.warning("%s holds every viewer URL it may", grants.subject)
            body = {"error": "too many viewer URLs", "reason": str(exc)}
            return api.response(429, body, origin)
        except SlotsUnavailable as exc:
            log.error("the viewer URL table refused: %s", exc)
            return api.response(502, {"error": "the viewer limit could not be checked"}, origin)
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "ResourceNotFoundException":
                return api.response(404, {"error": f'robot "{robot}" has no video channel'}, origin)
            if code == "ResourceInUseException":  # just created by its robot: not ACTIVE yet
                error = f'robot "{robot}"\'s video channel is not active yet'
                return api.response(503, {"error": error}, origin)
            log.error("KVS refused: %s", exc)
            return api.response(502, {"error": "the video service could not be reached"}, origin)
        except botocore.exceptions.BotoCoreError as exc:
            log.error("KVS unreachable: %s", exc)
            return api.response(502, {"error": "the video service could not be reached"}, origin)
        log.info("%s watches %s as %s", grants.subject, robot, answer["clientId"])
        return api.response(200, answer, origin)

    def session(self, robot: str) -> dict[str, Any]:
        """Everything a browser needs to join ``robot``'s channel as a new viewer."""
        channel = self._channel(robot)
        client_id = "viewer-" + secrets.token_hex(8)
        turn = self.clients.signaling(channel.https).get_ice_server_config(
            ChannelARN=channel.arn, ClientId=client_id, Service="TURN"
        )
        ice_servers: list[dict[str, Any]] = [{"urls": url} for url in self.settings.stun_urls]
        ice_servers += [
            {
                "urls": server["Uris"],
                "username": server["Username"],
                "credential": server["Password"],
            }
            for server in turn.get("IceServerList", [])
        ]
        url = presign_connect_url(
            channel.wss,
            channel.arn,
            client_id,
            self.clients.credentials(),
            self.settings.region,
            self.settings.url_expires,
        )
        return {
            "robot": robot,
            "channelArn": channel.arn,
            "region": self.settings.region,
            "clientId": client_id,
            "signalingUrl": url,
            "iceServers": ice_servers,
            "expiresIn": self.settings.url_expires,
        }

    def _channel(self, robot: str) -> _Channel:
        cached = self._channels.get(robot)
        if cached is not None and cached.until > self._clock():
            return cached
        kinesisvideo = self.clients.kinesisvideo
        arn = kinesisvideo.describe_signaling_channel(ChannelName=robot)["ChannelInfo"][
            "ChannelARN"
        ]
        endpoints = kinesisvideo.get_signaling_channel_endpoint(
            ChannelARN=arn,
            SingleMasterChannelEndpointConfiguration={
                "Protocols": ["WSS", "HTTPS"],
                "Role": "VIEWER",
            },
        )["ResourceEndpointList"]
        by_protocol = {e["Protocol"]: e["ResourceEndpoint"] for e in endpoints}
        channel = _Channel(
            arn, by_protocol["WSS"], by_protocol["HTTPS"], self._clock() + CHANNEL_CACHE_SECONDS
        )
        self._channels[robot] = channel
        return channel


def presign_connect_url(
    endpoint: str,
    channel_arn: str,
    client_id: str | None,
    credentials: ReadOnlyCredentials,
    region: str,
    expires: int,
) -> str:
    """The signaling WebSocket URL, SigV4-presigned for ``kinesisvideo``: ConnectAsViewer
    with ``client_id``, ConnectAsMaster without."""
    params = {"X-Amz-ChannelARN": channel_arn}
    if client_id is not None:
        params["X-Amz-ClientId"] = client_id
    # AWS's endpoints have no path; the signature covers "/", so the URL says it too.
    url = endpoint if urlsplit(endpoint).path else endpoint + "/"
    request = AWSRequest(method="GET", url=url, params=params)
    SigV4QueryAuth(credentials, SERVICE, region, expires=expires).add_auth(request)
    return request.url


def make_handler(settings: Settings, clients: Clients) -> Handler:
    return Viewer(settings, clients).handle


_handler: Handler | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _handler
    if _handler is None:
        settings = Settings.from_environ(os.environ)
        _handler = make_handler(
            settings, Clients.from_session(botocore.session.get_session(), settings)
        )
    return _handler(event, context)

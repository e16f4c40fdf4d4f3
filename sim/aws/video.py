"""The simulator's video services, together: the local IoT credentials provider, KVS
signaling service and DynamoDB (the viewer Lambda's table of URLs per subject) on a loop
thread of their own, and the viewer Lambda wired to them with explicit settings and clients.
Only the stack's own robot has a channel from the start, as the SAM template makes only that
one: the other robots' producers create theirs. Given a TURN server, ``GetIceServerConfig``
hands out its URIs with fresh credentials.

    with LocalVideo(thing_name, certs, turn=turn) as video:
        config.update(video.robot_config())   # what the robot's producer needs to reach them
        front.lambda_routes["POST /viewer"] = video.viewer_handler()
"""

from __future__ import annotations

import secrets

import botocore.session

from cloud.viewer import app as viewer
from cloud.viewer import slots
from sim.aws.background import BackgroundLoop
from sim.aws.certs import SimCerts
from sim.aws.credentials_provider import CredentialsProvider
from sim.aws.dynamodb import DynamoDb, DynamoDbService
from sim.aws.kvs_signaling import (
    DEFAULT_LIMITS,
    MASTER_ACTIONS,
    VIEWER_ACTIONS,
    KvsSignalingService,
    Limits,
    Permissions,
    Role,
)
from sim.aws.sigv4 import CredentialStore
from sim.aws.turn import TurnServer

REGION = "us-east-1"
# The viewer Lambda's own credentials (its execution role's, in AWS): the key id is fixed, the
# secret made anew by each simulator, so that nobody who read this source can presign a
# viewer URL without a token.
VIEWER_ACCESS_KEY = "AKIDSIMVIEWERLAMBDA"
VIEWER_PRINCIPAL = "viewer-lambda"
SLOTS_TABLE = "viewer-slots"  # the template's ViewerSlotsTable


class LocalVideo:
    def __init__(
        self,
        thing_name: str,
        certs: SimCerts,
        region: str = REGION,
        limits: Limits = DEFAULT_LIMITS,
        turn: TurnServer | None = None,
        urls_per_subject: int = slots.URLS_PER_SUBJECT,
    ) -> None:
        """``thing_name``: the stack's own robot (``POST /viewer``'s); ``turn``: a running TURN
        server (none: no relay, as on loopback none is needed); ``urls_per_subject``: the
        viewer Lambda's cap (AWS's stack has the default)."""
        self.thing_name = thing_name
        self.limits = limits
        self.turn = turn
        self.urls_per_subject = urls_per_subject
        self.certs = certs
        self.region = region
        # The template names the robots' role alias so; its credentials are each thing's own.
        self.role_alias = f"{thing_name}-camera"
        self.store = CredentialStore()
        self._viewer_secret = secrets.token_urlsafe(30)
        self.store.add_static(
            VIEWER_ACCESS_KEY, self._viewer_secret, VIEWER_PRINCIPAL, Permissions(VIEWER_ACTIONS)
        )
        self.dynamodb = DynamoDb(self.store, region)
        self.dynamodb.create_table(
            SLOTS_TABLE, slots.KEY, {VIEWER_PRINCIPAL}, ttl_attribute=slots.TTL_ATTRIBUTE
        )
        self.loop = BackgroundLoop("sim-video")
        self.signaling: KvsSignalingService | None = None
        self.provider: CredentialsProvider | None = None
        self.dynamodb_service: DynamoDbService | None = None

    def __enter__(self) -> LocalVideo:
        self.loop.__enter__()
        try:
            self.signaling = self.loop.enter(
                KvsSignalingService(
                    self.store,
                    self.certs.server,
                    region=self.region,
                    channels=[self.thing_name],
                    limits=self.limits,
                    origins=frozenset(),  # no browser page until the front names its own
                    ice_servers=(lambda: [self.turn.ice_server()]) if self.turn else None,
                )
            )
            self.provider = self.loop.enter(
                CredentialsProvider(
                    self.store,
                    {self.role_alias: lambda thing: Permissions(MASTER_ACTIONS, thing)},
                    ca=self.certs.ca,
                    server_cert=self.certs.server.cert,
                    server_key=self.certs.server.key,
                )
            )
            self.dynamodb_service = self.loop.enter(DynamoDbService(self.dynamodb))
        except BaseException:
            self.loop.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.loop.__exit__(*exc_info)

    def robot_config(self) -> dict[str, str]:
        """The robot's config keys for reaching the local services: the credentials
        endpoint (``host:port``, its certificate signed by the simulator's CA, which is the
        config's ``ROOT_CA_PATH``), the role alias, the region, and ``KVS_ENDPOINT_URL``,
        the KVS control plane (absent or empty on a real robot: AWS's)."""
        assert self.signaling is not None and self.provider is not None
        return {
            "IOT_GET_CREDENTIAL_ENDPOINT": self.provider.endpoint,
            "ROLE_ALIAS": self.role_alias,
            "AWS_DEFAULT_REGION": self.region,
            "KVS_ENDPOINT_URL": self.signaling.url,
        }

    def viewer_origin(self) -> str:
        """Where a browser viewer's WebSocket goes (the console's policy must allow it)."""
        assert self.signaling is not None
        return self.signaling.wss(Role.VIEWER)

    def allow_pages_of(self, origins: frozenset[str]) -> None:
        """Let browser pages of ``origins`` (the console's) open the signaling WebSocket."""
        assert self.signaling is not None
        self.signaling.origins = origins

    def viewer_handler(self) -> viewer.Handler:
        """The real viewer Lambda, with botocore pointed at the local signaling service and
        DynamoDB, and the TURN server's STUN URI where AWS's Lambda names KVS's STUN server."""
        assert self.signaling is not None and self.dynamodb_service is not None
        settings = viewer.Settings(
            robot_name=self.thing_name,
            region=self.region,
            slots_table=SLOTS_TABLE,
            kvs_endpoint_url=self.signaling.url,
            stun_urls=(self.turn.stun_uri,) if self.turn else (),
            dynamodb_endpoint_url=self.dynamodb_service.url,
            urls_per_subject=self.urls_per_subject,
        )
        session = botocore.session.Session()
        session.set_credentials(VIEWER_ACCESS_KEY, self._viewer_secret)
        return viewer.make_handler(settings, viewer.Clients.from_session(session, settings))

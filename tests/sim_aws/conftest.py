"""Fixtures for the local AWS services: a loop thread hosting them, a credential store with
a robot's and a viewer's credentials, and WebSocket signaling peers driven from the test."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import aiohttp
import botocore.config
import botocore.session
import pytest
from botocore.credentials import ReadOnlyCredentials

from cloud.viewer import slots
from sim.aws.background import BackgroundLoop
from sim.aws.certs import SimCerts, make_certs
from sim.aws.dynamodb import DynamoDb, DynamoDbService
from sim.aws.kvs_signaling import MASTER_ACTIONS, VIEWER_ACTIONS, KvsSignalingService, Permissions
from sim.aws.sigv4 import CredentialStore
from tests.support import tls

REGION = "us-east-1"
ROBOT = "r1"
ROBOT_KEYS = ReadOnlyCredentials("AKIDROBOT", "robot-secret", None)
VIEWER_KEYS = ReadOnlyCredentials("AKIDVIEWER", "viewer-secret", None)
SLOTS_TABLE = "viewer-slots"


@pytest.fixture
def loop() -> Iterator[BackgroundLoop]:
    with BackgroundLoop("test-aws") as background:
        yield background


@pytest.fixture
def store() -> CredentialStore:
    store = CredentialStore()
    store.add_static(
        ROBOT_KEYS.access_key, ROBOT_KEYS.secret_key, "robot", Permissions(MASTER_ACTIONS, ROBOT)
    )
    store.add_static(
        VIEWER_KEYS.access_key, VIEWER_KEYS.secret_key, "viewer", Permissions(VIEWER_ACTIONS)
    )
    return store


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> SimCerts:
    return make_certs(tmp_path_factory.mktemp("kvs-certs"), ROBOT)


@pytest.fixture
def kvs(loop, store, certs) -> KvsSignalingService:
    tls.trust(certs.ca)
    return loop.enter(
        KvsSignalingService(store, certs.server, region=REGION, channels=[ROBOT, "r2"])
    )


@pytest.fixture
def dynamodb(loop, store) -> DynamoDbService:
    """The local DynamoDB with the viewer Lambda's table, which the viewer may write."""
    db = DynamoDb(store, REGION)
    db.create_table(SLOTS_TABLE, slots.KEY, {"viewer"}, ttl_attribute=slots.TTL_ATTRIBUTE)
    return loop.enter(DynamoDbService(db))


def client(
    service: str,
    endpoint: str,
    credentials: ReadOnlyCredentials,
    region: str = REGION,
    validate: bool = True,
) -> Any:
    """A real botocore client for ``service`` at ``endpoint``, signing with ``credentials``;
    ``validate`` False: it sends what botocore would refuse, as other clients may."""
    session = botocore.session.Session()
    session.set_credentials(*credentials)
    return session.create_client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        config=botocore.config.Config(parameter_validation=validate),
    )


class Peer:
    """One signaling WebSocket connection, driven synchronously from a test."""

    def __init__(self, loop: BackgroundLoop, url: str) -> None:
        self.loop = loop
        self.session, self.ws = loop.run(self._open(url))

    @staticmethod
    async def _open(url: str) -> tuple[aiohttp.ClientSession, Any]:
        session = aiohttp.ClientSession()
        try:
            return session, await session.ws_connect(url, ssl=tls.context())
        except BaseException:
            await session.close()
            raise

    def send(self, **message: Any) -> None:
        self.loop.run(self.ws.send_str(json.dumps(message)))

    def receive(self, timeout: float = 2.0) -> dict[str, Any] | None:
        """The next message, or None if the connection closes or nothing comes in time."""
        return self.loop.run(self._receive(timeout))

    async def _receive(self, timeout: float) -> dict[str, Any] | None:
        try:
            message = await asyncio.wait_for(self.ws.receive(), timeout)
        except TimeoutError:
            return None
        if message.type != aiohttp.WSMsgType.TEXT:
            return None
        return json.loads(message.data)

    @property
    def closed(self) -> bool:
        return self.ws.closed

    def close(self) -> None:
        self.loop.run(self._close())

    async def _close(self) -> None:
        await self.ws.close()
        await self.session.close()


@pytest.fixture
def peers(loop) -> Iterator[Any]:
    """``peers(url)`` opens a Peer; all are closed after the test."""
    opened: list[Peer] = []

    def open_peer(url: str) -> Peer:
        peer = Peer(loop, url)
        opened.append(peer)
        return peer

    yield open_peer
    for peer in opened:
        peer.close()


def handshake_status(loop: BackgroundLoop, url: str, origin: str | None = None) -> int:
    """The HTTP status a WebSocket upgrade to ``url`` is refused with (101 if accepted);
    ``origin``: as a browser page of that origin sends it."""

    async def attempt() -> int:
        async with aiohttp.ClientSession() as session:
            try:
                ws = await session.ws_connect(url, origin=origin, ssl=tls.context())
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status
            await ws.close()
            return 101

    return loop.run(attempt())

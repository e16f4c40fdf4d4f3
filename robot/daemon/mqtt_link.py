"""The robot's MQTT link to AWS IoT Core (or the simulator's broker), over mutual TLS: one of
the daemon's two command links (robot/daemon/links.py).

AWSIoTPythonSDK is thread-based; this module keeps its threads to itself. Its callbacks
only hand events to the event loop and return at once (a blocking SDK call inside a
callback would deadlock its single callback thread). Application code sees asyncio::

    async with IoTLink(settings) as link:
        async for event in link.events():   # a Delivery per message on {thing}/action, a
            ...                             # LinkStatus when the link drops or returns

A message goes from the SDK's thread onto the loop in one hop (``call_soon_threadsafe``); the
daemon's reader of ``events()`` is the next to run.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from robot.contracts.admission import CommandPath
from robot.daemon.config import Config
from robot.daemon.links import Delivery, LinkEvent, LinkStatus

log = logging.getLogger(__name__)

KEEPALIVE_S = 30  # IoT Core drops a client after 1.5 x keepalive; the SDK's 600 s is too slow
OPERATION_TIMEOUT_S = 5
OFFLINE_DISCONNECT_TIMEOUT_S = 0.5
# Reconnect backoff, bounded so that the robot drives again within about 5 s of the broker's
# return however long it was gone; each client draws its own times within these ranges, so
# a fleet spreads out instead of reconnecting in lockstep.
RECONNECT_BASE_S = (0.5, 1.0)
RECONNECT_MAX_S = (2.5, 3.5)
STABLE_CONNECTION_S = 20  # connected this long, the backoff starts over from its base
DISPATCH_POLL_S = 0.5


class IoTLink:
    """One MQTT session as the thing, subscribed to its action topic with QoS 1."""

    path = CommandPath.MQTT

    def __init__(self, config: Config, last_will: bytes | None = None) -> None:
        self._config = config
        self._last_will = last_will
        self._events: asyncio.Queue[LinkEvent] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Any = None
        self.online = False

    async def __aenter__(self) -> IoTLink:
        self._loop = asyncio.get_running_loop()
        self._client = self._make_client()
        await self._connect_with_backoff()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        client, self._client = self._client, None
        if not self.online:
            # Nobody will acknowledge the DISCONNECT: don't hold up a shutdown waiting for it.
            client.configureConnectDisconnectTimeout(OFFLINE_DISCONNECT_TIMEOUT_S)
        self.online = False
        try:
            await asyncio.wait_for(asyncio.to_thread(client.disconnect), OPERATION_TIMEOUT_S)
        except Exception as exc:  # the link may already be gone; nothing more to do
            log.debug("disconnect: %s", exc)

    async def events(self) -> AsyncIterator[LinkEvent]:
        """Each message on the action topic, and each change of the link, as they come."""
        while True:
            yield await self._events.get()

    def send(self, telemetry: bytes) -> bool:
        """Publish a telemetry message on ``{thing}/telemetry``; see ``publish``."""
        return self.publish(self._config.telemetry_topic, telemetry)

    def publish(self, topic: str, payload: bytes) -> bool:
        """Publish at QoS 0 without waiting; False if the link is down (telemetry: best effort)."""
        if self._client is None or not self.online:
            return False
        try:
            self._client.publishAsync(topic, payload, 0)
        except Exception as exc:
            log.debug("publish to %s dropped: %s", topic, exc)
            return False
        return True

    def _make_client(self) -> Any:
        config = self._config
        client = sdk_client(  # the IoT policy allows only the thing name as client id
            config.thing_name,
            config.endpoint,
            config.port,
            config.root_ca,
            config.private_key,
            config.certificate,
            on_online=lambda: self._post(LinkStatus(online=True)),
            on_offline=lambda: self._post(LinkStatus(online=False)),
        )
        if self._last_will is not None:
            # The bundled paho takes a will as bytearray, not bytes.
            client.configureLastWill(config.telemetry_topic, bytearray(self._last_will), 1)
        return client

    async def _connect_with_backoff(self) -> None:
        delay, longest = random.uniform(*RECONNECT_BASE_S), random.uniform(*RECONNECT_MAX_S)
        while True:
            try:
                await asyncio.to_thread(self._connect_and_subscribe)
                return
            except Exception as exc:
                log.warning(
                    "cannot connect to %s:%s (%s); retrying in %.1f s",
                    self._config.endpoint,
                    self._config.port,
                    exc or type(exc).__name__,
                    delay,
                )
            # Jitter keeps a fleet from reconnecting in lockstep after an outage.
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, longest)

    def _connect_and_subscribe(self) -> None:
        # Runs in a worker thread: connect and subscribe block until acknowledged.
        self._client.connect(KEEPALIVE_S)
        topic = self._config.action_topic
        self._client.subscribe(topic, 1, self._on_message)
        self.online = True
        log.info(
            "connected to %s:%s as %s, subscribed to %s",
            self._config.endpoint,
            self._config.port,
            self._config.thing_name,
            topic,
        )

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        # Called on an SDK thread: hand over and return at once.
        self._post(Delivery(bytes(message.payload), CommandPath.MQTT))

    def _post(self, event: LinkEvent) -> None:
        # Called on an SDK thread: hand over and return at once.
        if isinstance(event, LinkStatus):
            self.online = event.online
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._events.put_nowait, event)


def sdk_client(
    client_id: str,
    host: str,
    port: int,
    ca: Path,
    key: Path,
    cert: Path,
    timeout_s: float = OPERATION_TIMEOUT_S,
    on_online: Callable[[], None] | None = None,
    on_offline: Callable[[], None] | None = None,
) -> Any:
    """An AWSIoTPythonSDK client for mutual TLS, not yet connected, set up as we use it:
    bounded reconnect backoff with jitter, no offline queue, no Nagle delay. ``on_online``
    and ``on_offline`` run on an SDK thread when the connection comes and goes."""
    from AWSIoTPythonSDK.core.protocol.internal.workers import EventConsumer
    from AWSIoTPythonSDK.MQTTLib import AWSIoTMQTTClient

    # The SDK's dispatch thread polls every 10 ms, most of an idle robot's CPU. Every
    # event notifies it at once, so the poll only bounds how soon it notices a stop.
    EventConsumer.MAX_DISPATCH_INTERNAL_SEC = DISPATCH_POLL_S
    client = AWSIoTMQTTClient(client_id)
    client.configureEndpoint(host, port)
    client.configureCredentials(str(ca), str(key), str(cert))
    # Queued commands would replay stale motion after a reconnect: queue nothing (and an
    # offline publish fails instead of waiting).
    client.configureOfflinePublishQueueing(0)
    client.configureConnectDisconnectTimeout(timeout_s)
    client.configureMQTTOperationTimeout(timeout_s)
    client.disableMetricsCollection()
    client.configureAutoReconnectBackoffTime(
        random.uniform(*RECONNECT_BASE_S), random.uniform(*RECONNECT_MAX_S), STABLE_CONNECTION_S
    )

    def online() -> None:
        _disable_nagle(client)  # on every (re)connection: each one is a new socket
        if on_online is not None:
            on_online()

    client.onOnline = online
    if on_offline is not None:
        client.onOffline = on_offline
    return client


def _disable_nagle(client: Any) -> None:
    """TCP_NODELAY on the SDK's socket: small MQTT packets (a command, a telemetry report)
    leave at once instead of waiting up to 40 ms for the peer's delayed ACK."""
    try:
        # The SDK has no setting for it; its paho client holds the socket (wrapped for TLS).
        paho = client._mqtt_core._internal_async_client._paho_client
        sock = paho._ssl or paho._sock
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (AttributeError, OSError) as exc:
        log.warning("cannot disable Nagle's algorithm on the MQTT socket: %s", exc)

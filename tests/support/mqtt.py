"""Test clients for the simulator's broker, built on AWSIoTPythonSDK: the robot's own client."""

from __future__ import annotations

import itertools
import queue
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from AWSIoTPythonSDK.core.protocol.paho.client import MQTTMessage
from AWSIoTPythonSDK.MQTTLib import AWSIoTMQTTClient

from sim.aws.certs import Identity
from sim.aws.iot_core import Broker
from sim.aws.mqtt import session

# Short, so a refused or lost connection fails a test in seconds rather than minutes.
KEEPALIVE_S = 10
TIMEOUT_S = 3
# How long a test waits for a message that should arrive (a bound, not a measurement).
WAIT_S = 5.0
_ids = itertools.count()


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes


@contextmanager
def connected(
    broker: Broker, identity: Identity, client_id: str | None = None
) -> Iterator[AWSIoTMQTTClient]:
    """An SDK client connected to ``broker`` as ``identity``; disconnected on exit.

    A refused connection raises connectError when the TLS handshake itself fails, or
    connectTimeoutException after TIMEOUT_S when the refusal arrives after the client's side
    of a TLS 1.3 handshake. Either way the SDK stops its own threads.
    """
    with session(
        broker.host,
        broker.port,
        broker.certs.ca,
        identity,
        client_id or f"test-{next(_ids)}",
        KEEPALIVE_S,
        TIMEOUT_S,
    ) as client:
        yield client


def collect(client: AWSIoTMQTTClient, topic: str, qos: int = 1) -> queue.Queue[Message]:
    """Subscribe ``client`` to ``topic``; every message received lands in the returned queue.

    The callback runs on the SDK's one callback thread, so it only enqueues: a blocking SDK
    call there would deadlock the client.
    """
    received: queue.Queue[Message] = queue.Queue()

    def on_message(_client: object, _userdata: object, message: MQTTMessage) -> None:
        received.put(Message(message.topic, bytes(message.payload)))

    if not client.subscribe(topic, qos, on_message):
        raise AssertionError(f"subscribe to {topic!r} was not acknowledged")
    return received


def next_message(received: queue.Queue[Message], timeout: float = WAIT_S) -> Message:
    """The next message in ``received``; fails the test if none comes within ``timeout``."""
    try:
        return received.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"no message within {timeout:g} s") from None

"""Clients of the simulator's broker, on AWSIoTPythonSDK: the same client the robot uses."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sim.certs import Identity


@contextlib.contextmanager
def session(host: str, port: int, ca: Path, identity: Identity, client_id: str,
            keepalive_s: int = 30, timeout_s: float = 5) -> Iterator[Any]:
    """A client connected as ``identity``, disconnected on exit.

    Nothing is queued while offline, so a publish that cannot be delivered fails loudly.
    """
    from AWSIoTPythonSDK.MQTTLib import AWSIoTMQTTClient

    client = AWSIoTMQTTClient(client_id)
    client.configureEndpoint(host, port)
    client.configureCredentials(str(ca), str(identity.key), str(identity.cert))
    client.configureConnectDisconnectTimeout(timeout_s)
    client.configureMQTTOperationTimeout(timeout_s)
    client.configureOfflinePublishQueueing(0)
    client.disableMetricsCollection()
    client.connect(keepalive_s)
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.disconnect()

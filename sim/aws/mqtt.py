"""Clients of the simulator's broker, on AWSIoTPythonSDK: the same client the robot uses."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from robot.daemon.mqtt_link import sdk_client
from sim.aws.certs import Identity


@contextlib.contextmanager
def session(
    host: str,
    port: int,
    ca: Path,
    identity: Identity,
    client_id: str,
    keepalive_s: int = 30,
    timeout_s: float = 5,
) -> Iterator[Any]:
    """A client connected as ``identity``, disconnected on exit.

    Nothing is queued while offline, so a publish that cannot be delivered fails loudly.
    """
    client = sdk_client(client_id, host, port, ca, identity.key, identity.cert, timeout_s)
    client.connect(keepalive_s)
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.disconnect()

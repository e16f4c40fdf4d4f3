"""Whom the tests' WebSocket clients trust for ``wss://``: the CA of the simulator under test
(sim/aws/certs.py), which signs the local KVS signaling hosts, as Amazon's CA signs AWS's.

    trust(certs.ca)                        # when the services start
    await http.ws_connect(url, ssl=context())
"""

from __future__ import annotations

import ssl
from pathlib import Path

_trusted: list[ssl.SSLContext] = []


def trust(ca: Path) -> None:
    """Trust ``ca`` (and the system's CAs) from now on."""
    _trusted[:] = [ssl.create_default_context(cafile=str(ca))]


def context() -> ssl.SSLContext:
    if not _trusted:
        raise RuntimeError("no simulator CA is trusted yet: call trust(certs.ca) first")
    return _trusted[0]

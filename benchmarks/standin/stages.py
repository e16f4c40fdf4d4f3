"""Stamps along our daemon's command path, for ``benchmarks/command_path.py --stages``.

Wraps (in the benchmark's daemon process only, from sitecustomize) the functions a command
passes through and, once the daemon has handled it, sends their ``time.time()`` stamps in
one UDP datagram to ``STANDIN_STAGES_PORT``: nothing but keeping a float is added to the
path before the wheels move. The motor call's own stamp comes from the explorerhat stand-in.
"""

from __future__ import annotations

import collections
import functools
import json
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from robot.contracts import protocol
from robot.daemon import daemon
from robot.daemon import mqtt_link as link
from robot.daemon.freshness import FreshnessGate

_report = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
_address = ("127.0.0.1", int(os.environ["STANDIN_STAGES_PORT"]))
_received: collections.deque[float] = collections.deque()  # SDK callback entries not yet handled
_stamps: dict[str, float] = {}


def _after(stage: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def stamped(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        finally:
            _stamps[stage] = time.time()

    return stamped


def _on_message(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def stamped(*args: Any, **kwargs: Any) -> Any:
        _received.append(time.time())  # on the SDK's thread
        return function(*args, **kwargs)

    return stamped


def _handler(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def stamped(*args: Any, **kwargs: Any) -> Any:
        _stamps["handler entered"] = time.time()
        try:
            return function(*args, **kwargs)
        finally:
            _stamps["handler returned"] = time.time()
            if _received:
                _stamps["sdk callback"] = _received.popleft()
            _report.sendto(json.dumps(_stamps).encode(), _address)
            _stamps.clear()

    return stamped


link.IoTLink._on_message = _on_message(link.IoTLink._on_message)  # type: ignore[method-assign]
daemon.Daemon.handle = _handler(daemon.Daemon.handle)  # type: ignore[method-assign]
protocol.parse = _after("parsed", protocol.parse)
FreshnessGate.check = _after("freshness checked", FreshnessGate.check)  # type: ignore[method-assign]

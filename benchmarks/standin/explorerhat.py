"""An instrumented stand-in for the ``explorerhat`` library (a fake: no HAT, no GPIO).

It has the motor calls the AWS sample's script and our Explorer HAT driver make, and
reports each one, with ``time.time()`` taken as it is entered, as a UDP datagram to the
port in ``STANDIN_REPORT_PORT`` on 127.0.0.1: the benchmark's view of the wheels.
"""

from __future__ import annotations

import os
import socket
import time

_report = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
_address = ("127.0.0.1", int(os.environ["STANDIN_REPORT_PORT"]))


def _call(name: str, value: float) -> None:
    at = time.time()
    _report.sendto(f"{at!r} {name} {value:g}".encode(), _address)


class _Motor:
    def __init__(self, name: str) -> None:
        self._name = name

    def speed(self, value: float) -> None:
        _call(f"{self._name}.speed", value)

    def forwards(self, value: float = 100) -> None:
        _call(f"{self._name}.forwards", value)

    def backwards(self, value: float = 100) -> None:
        _call(f"{self._name}.backwards", value)

    def stop(self) -> None:
        _call(f"{self._name}.stop", 0)


class _Motors(_Motor):
    def __init__(self) -> None:
        super().__init__("motor")
        self.one = _Motor("one")
        self.two = _Motor("two")


motor = _Motors()

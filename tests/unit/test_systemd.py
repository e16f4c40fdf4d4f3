"""The systemd notify protocol, against a local datagram socket standing in for systemd."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from robot.daemon.systemd import Notifier


@pytest.fixture
def systemd_stand_in(tmp_path: Path) -> Iterator[socket.socket]:
    """A datagram socket where systemd's notify socket would be (a stand-in: no systemd)."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(tmp_path / "notify"))
    server.settimeout(5)
    yield server
    server.close()


def test_nothing_is_sent_without_a_notify_socket() -> None:
    notifier = Notifier.from_environ({})
    assert notifier.address is None and notifier.watchdog_s is None
    notifier.notify("READY=1")  # does nothing, raises nothing


def test_ready_and_status_reach_the_socket(systemd_stand_in: socket.socket) -> None:
    address = systemd_stand_in.getsockname()
    notifier = Notifier.from_environ({"NOTIFY_SOCKET": address})
    notifier.notify("READY=1", "STATUS=link online, e-stop clear")
    assert systemd_stand_in.recv(4096) == b"READY=1\nSTATUS=link online, e-stop clear"
    notifier.close()


def test_the_watchdog_is_pinged_from_the_loop_twice_per_period(
    systemd_stand_in: socket.socket,
) -> None:
    environ = {
        "NOTIFY_SOCKET": systemd_stand_in.getsockname(),
        "WATCHDOG_USEC": "200000",
        "WATCHDOG_PID": str(os.getpid()),
    }
    notifier = Notifier.from_environ(environ)
    assert notifier.watchdog_s == 0.2

    async def body() -> None:
        pinger = asyncio.create_task(notifier.keep_alive())
        await asyncio.sleep(0.35)
        pinger.cancel()

    asyncio.run(body())
    pings = []
    systemd_stand_in.settimeout(0)
    with pytest.raises(BlockingIOError):
        while True:
            pings.append(systemd_stand_in.recv(4096))
    assert pings[0] == b"WATCHDOG=1"
    assert 2 <= len(pings) <= 5


def test_a_watchdog_meant_for_another_process_is_ignored() -> None:
    notifier = Notifier.from_environ(
        {"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}
    )
    assert notifier.watchdog_s is None
    notifier.close()

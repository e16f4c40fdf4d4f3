"""Real network conditions for tests, in network namespaces the test makes itself (as root):
a robot side and a viewer side that cannot reach each other, and a cloud between them whose
services (signaling, credentials, TURN) both reach. The TURN server relays from an address
neither side has a route to, so media flows only relay to relay, through coturn: each side
needs a TURN allocation of its own, with credentials that are still good.

    with RelayNetwork() as net:
        cloud = net.start("cloud", [python, "-m", "tests.support.cloud_services", ...])
        net.loss("viewer", 3)           # 3 % of the packets arriving at the viewer dropped
        net.cap("robot", 1000)          # the robot's uplink capped at 1 Mbit/s

Addresses are from 198.18.0.0/15, the range set aside for network tests (RFC 2544), and
exist only inside the namespaces. Loss is nftables' ``numgen random`` on the input hook (this
kernel has no netem; on output it would fail the sender's ``sendto`` instead); the cap is
``tc tbf``. Leaving the block kills what was started in the namespaces and deletes them
(with their links, rules and queues); namespaces left by a test process that died are
deleted by the next one.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import secrets
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from robot.posix.processes import stop_child

SERVICES = "198.18.0.1"  # signaling, credentials provider, TURN: on the cloud's loopback
RELAYED = "198.18.0.2"  # TURN's relay address: no route to it from either side
SIDES = {"robot": ("198.18.1.1", "198.18.1.2"), "viewer": ("198.18.2.1", "198.18.2.2")}
PREFIX = "relaynet"
COMMAND_TIMEOUT_S = 10


class NetworkError(RuntimeError):
    pass


def _run(*args: str) -> str:
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        raise NetworkError(f"{' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def sweep_stale() -> None:
    """Delete namespaces of ours whose test process is gone."""
    for line in _run("ip", "netns", "list").splitlines():
        match = re.match(rf"({PREFIX}-(\d+)-\w+-\w+)", line)
        if match and not Path(f"/proc/{match.group(2)}").exists():
            with contextlib.suppress(NetworkError):
                _run("ip", "netns", "delete", match.group(1))


class RelayNetwork:
    """The three namespaces, by role: ``robot``, ``viewer``, ``cloud``."""

    def __init__(self) -> None:
        tag = f"{PREFIX}-{os.getpid()}-{secrets.token_hex(3)}"
        self.names = {role: f"{tag}-{role}" for role in ("cloud", *SIDES)}
        self._children: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> RelayNetwork:
        sweep_stale()
        try:
            self._build()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        for child in reversed(self._children):
            stop_child(child, grace_s=5)
        for name in self.names.values():
            with contextlib.suppress(NetworkError):
                _run("ip", "netns", "delete", name)

    def _build(self) -> None:
        for role, name in self.names.items():
            _run("ip", "netns", "add", name)
            self.ip(role, "link", "set", "lo", "up")
        self.ip("cloud", "addr", "add", f"{SERVICES}/32", "dev", "lo")
        self.ip("cloud", "addr", "add", f"{RELAYED}/32", "dev", "lo")
        # Each new namespace starts with forwarding off: the cloud never routes side to side.
        if self.sysctl("cloud", "net.ipv4.ip_forward") != "0":
            raise NetworkError("the cloud namespace forwards packets")
        for role, (cloud_side, own) in SIDES.items():
            link = f"to-{role}"
            self.ip("cloud", "link", "add", link, "type", "veth", "peer", "name", "eth0",
                    "netns", self.names[role])  # fmt: skip
            self.ip("cloud", "addr", "add", f"{cloud_side}/30", "dev", link)
            self.ip("cloud", "link", "set", link, "up")
            self.ip(role, "addr", "add", f"{own}/30", "dev", "eth0")
            self.ip(role, "link", "set", "eth0", "up")
            self.ip(role, "route", "add", f"{SERVICES}/32", "via", cloud_side)

    def ip(self, role: str, *args: str) -> str:
        return _run("ip", "-n", self.names[role], *args)

    def sysctl(self, role: str, key: str) -> str:
        return self.execute(role, "sysctl", "-n", key).strip()

    def execute(self, role: str, *args: str) -> str:
        return _run("ip", "netns", "exec", self.names[role], *args)

    def start(
        self, role: str, args: list[str], output: IO[bytes] | int, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start ``args`` inside ``role``'s namespace; stopped when the network goes."""
        child = subprocess.Popen(
            ["ip", "netns", "exec", self.names[role], *args],
            stdin=subprocess.PIPE,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self._children.append(child)
        return child

    def start_reading(self, role: str, args: list[str], env: dict[str, str] | None = None) -> Lines:
        """Start ``args`` in ``role``'s namespace, its output read line by line."""
        return Lines(self.start(role, args, subprocess.PIPE, env))

    def loss(self, role: str, percent: int) -> None:
        """Drop ``percent`` % of the packets arriving in ``role``'s namespace, at random
        (0: none); replaces any loss set before."""
        with contextlib.suppress(NetworkError):
            self.execute(role, "nft", "delete", "table", "inet", "loss")
        if percent:
            self.execute(role, "nft", "add", "table", "inet", "loss")
            self.execute(
                role, "nft", "add chain inet loss input { type filter hook input priority 0 ; }"
            )
            chance = ["numgen", "random", "mod", "100", "<", str(percent)] if percent < 100 else []
            self.execute(role, "nft", "add", "rule", "inet", "loss", "input", *chance, "drop")

    def cap(self, role: str, kbit_s: int) -> None:
        """Cap what ``role`` sends at ``kbit_s`` (a token bucket: bursts of 32 kbit, packets
        that would wait past 400 ms dropped, as a home router's uplink buffers)."""
        self.ip(role, "link", "set", "eth0", "txqueuelen", "1000")
        _run(
            "ip", "netns", "exec", self.names[role], "tc", "qdisc", "replace", "dev", "eth0",
            "root", "tbf", "rate", f"{kbit_s}kbit", "burst", "32kbit", "latency", "400ms",
        )  # fmt: skip


class Lines:
    """A child's output, line by line, kept as it comes (each line also as JSON, if it is)."""

    def __init__(self, child: subprocess.Popen[bytes]) -> None:
        self.child = child
        self.lines: list[str] = []
        self._new: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.child.stdout is not None
        for raw in self.child.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            self.lines.append(line)
            self._new.put(line)
        self._new.put(None)

    def next(self, predicate: Callable[[str], bool], timeout: float) -> str:
        """The first line from now on that satisfies ``predicate``; NetworkError, with the
        output, if the child ends or ``timeout`` passes first."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._new.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                raise NetworkError("the child ended:\n" + self.tail())
            if predicate(line):
                return line
        raise NetworkError(f"nothing matching within {timeout} s:\n" + self.tail())

    def next_json(self, key: str, timeout: float) -> Any:
        """The value of ``key`` in the next JSON line that has it."""
        return json.loads(self.next(lambda line: f'"{key}"' in line, timeout))[key]

    def messages(self) -> list[dict[str, Any]]:
        """Every JSON object line so far."""
        found = []
        for line in list(self.lines):
            with contextlib.suppress(ValueError):
                message = json.loads(line)
                if isinstance(message, dict):
                    found.append(message)
        return found

    def wait(self, timeout: float) -> None:
        self.child.wait(timeout)

    def tail(self, count: int = 30) -> str:
        return "\n".join(self.lines[-count:])

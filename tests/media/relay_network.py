"""The real producer and relay-only viewers on a network of namespaces where only the TURN
server joins them (tests/support/netns.py), for the relay tests and the video benchmark."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robot.contracts.signals import ready_line
from robot.daemon.producers import PRODUCER_MALLOC
from sim.aws.certs import SimCerts, make_certs
from tests.support.netns import RELAYED, SERVICES, Lines, RelayNetwork

THING = "relaybot"
REGION = "us-east-1"
ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def _producer_env() -> dict[str, str]:
    """The producer's, as the daemon's supervisor runs it."""
    return {**_env(), **PRODUCER_MALLOC}


@dataclass
class Relayed:
    net: RelayNetwork
    cloud: Lines
    producer: Lines
    control_plane: str
    certs: SimCerts

    def viewer(self, seconds: float) -> Lines:
        """A relay-only viewer in the viewer's namespace, watching for ``seconds``."""
        args = [sys.executable, "-m", "tests.media.relay_viewer"]
        args += ["--control-plane", self.control_plane, "--channel", THING]
        args += ["--ca", str(self.certs.ca)]
        return self.net.start_reading("viewer", [*args, "--seconds", str(seconds)], _env())


@contextlib.contextmanager
def relayed(
    folder: Path, ttl_s: int = 300, source_options: dict[str, Any] | None = None
) -> Iterator[Relayed]:
    """The network, the cloud (TURN credentials valid ``ttl_s``) and a producer that has
    reported ready, streaming the test pattern (``source_options``: its options)."""
    certs = make_certs(folder / "certs", THING, server_addresses=(SERVICES,))
    with RelayNetwork() as net:
        cloud = net.start_reading(
            "cloud",
            [
                sys.executable,
                "-m",
                "tests.support.cloud_services",
                "--certs",
                str(folder / "certs"),
                "--state",
                str(folder / "turn"),
                "--thing",
                THING,
                "--host",
                SERVICES,
                "--relay-host",
                RELAYED,
                "--ttl",
                str(ttl_s),
            ],
            _env(),
        )
        up = json.loads(cloud.next(lambda line: "control_plane" in line, START_TIMEOUT_S))
        producer = net.start_reading(
            "robot",
            [
                sys.executable,
                "-m",
                "robot.producer",
                "--thing",
                THING,
                "--region",
                REGION,
                "--credential-endpoint",
                up["credential_endpoint"],
                "--role-alias",
                up["role_alias"],
                "--certificate",
                str(certs.robot.cert),
                "--private-key",
                str(certs.robot.key),
                "--root-ca",
                str(certs.ca),
                "--source",
                "testpattern",
                "--source-options",
                json.dumps(source_options or {}),
                "--kvs-endpoint-url",
                up["control_plane"],
            ],
            _producer_env(),
        )
        producer.next(lambda line: line == ready_line(), START_TIMEOUT_S)
        yield Relayed(net, cloud, producer, up["control_plane"], certs)


@dataclass(frozen=True)
class Watched:
    """What a relay viewer reported."""

    joined_s: float
    joined_at_ms: float
    candidates: list[str]
    frames: list[tuple[int | None, float, float]]  # stamp ms, arrival ms, damage
    received: list[tuple[float, int]]  # time ms, bytes so far
    key_frames: list[tuple[int | None, float]]  # stamp ms, arrival ms

    @classmethod
    def of(cls, viewer: Lines) -> Watched:
        messages = viewer.messages()
        joined = next(m for m in messages if "joined" in m)
        return cls(
            joined["joined"],
            joined["at"],
            joined["candidates"],
            [tuple(m["frame"]) for m in messages if "frame" in m],  # type: ignore[misc]
            [tuple(m["received"]) for m in messages if "received" in m],  # type: ignore[misc]
            [tuple(m["key_frame"]) for m in messages if "key_frame" in m],  # type: ignore[misc]
        )

    def first_frame_s(self) -> float:
        """From the start of the join to the first frame."""
        return self.joined_s + (self.frames[0][1] - self.joined_at_ms) / 1000

    def since(self, ms: float) -> list[tuple[int | None, float, float]]:
        """The frames that arrived from ``ms`` on."""
        return [frame for frame in self.frames if frame[1] >= ms]

    def clean_after(self, ms: float, clean: float) -> float | None:
        """When the first clean frame drawn from ``ms`` on arrived (ms), or None."""
        return next(
            (arrived for stamp, arrived, damage in self.frames
             if stamp and stamp >= ms and damage < clean),
            None,
        )  # fmt: skip

    def kbit_s(self, from_ms: float) -> float:
        window = [sample for sample in self.received if sample[0] >= from_ms]
        (t0, b0), (t1, b1) = window[0], window[-1]
        return (b1 - b0) * 8 / (t1 - t0)

"""Helpers shared by the unit tests: observing drivers, a link stand-in, configs, strategies.

Test modules import the helpers from ``tests.unit.conftest``; pytest loads this file again
under another name for the fixtures, so nothing here may depend on object identity.
"""

from __future__ import annotations

import asyncio
import json
import math
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st

import drivers
from robot.contracts.admission import CommandPath
from robot.contracts.protocol import (
    ACTIONS,
    ANSWER_ACTIONS,
    AUDIO_ACTION,
    AUDIO_FIELDS,
    ENDPOINT_FIELDS,
    LATCH_ACTIONS,
    MAX_ID_LENGTH,
    MAX_TTL_MS,
    MIN_TTL_MS,
    SESSION_ACTIONS,
    Command,
)
from robot.daemon import config as robot_config
from robot.daemon.daemon import Daemon
from robot.daemon.estop import EStop
from robot.daemon.freshness import FreshnessGate
from robot.daemon.links import LinkEvent

# Property tests: enough examples to find edge cases, few enough to keep the suite fast.
PROPERTY = settings(max_examples=60, deadline=None)

# Generous upper bound for waiting on something the event loop will do (never a timing check).
PATIENCE_S = 5.0


# --- drivers that let a test observe the controller ----------------------------------------


class RecordingDriver(drivers.MotorDriver):
    """A recording driver: keeps every call with the loop time it happened at."""

    name = "recording"

    def __init__(self) -> None:
        self.calls: list[tuple[str, float, float, float]] = []  # (kind, left, right, loop time)
        self.ttl_s: float | None = None  # the time to live of the last drive

    def drive(self, left: float, right: float, ttl_s: float | None = None) -> None:
        self.ttl_s = ttl_s
        self.calls.append(("drive", left, right, _loop_time()))

    def stop(self) -> None:
        self.calls.append(("stop", 0.0, 0.0, _loop_time()))

    @property
    def output(self) -> tuple[float, float]:
        """What the wheels were last told (stopped before any call)."""
        return self.calls[-1][1:3] if self.calls else (0.0, 0.0)

    def stops(self) -> list[float]:
        """The loop times of every stop."""
        return [at for kind, _, _, at in self.calls if kind == "stop"]


class FailingDriver(drivers.MotorDriver):
    """A board whose drive() raises mid-command; stop() works and is counted."""

    name = "failing"

    def __init__(self) -> None:
        self.stop_calls = 0

    def drive(self, left: float, right: float, ttl_s: float | None = None) -> None:
        raise drivers.DriverError("the board stopped answering")

    def stop(self) -> None:
        self.stop_calls += 1


def _loop_time() -> float:
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return math.nan


async def wait_until(condition: Callable[[], bool], timeout: float = PATIENCE_S) -> None:
    """Let the loop run until ``condition()`` holds; fail after a generous bound."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        await asyncio.sleep(0.005)


# --- the daemon's surroundings -------------------------------------------------------------


class RecordingLink:
    """A stand-in for a command link (robot.daemon.links.CommandLink): records the telemetry
    the daemon sends on it."""

    path = CommandPath.MQTT

    def __init__(self, online: bool = True) -> None:
        self.online = online
        self.published: list[bytes] = []
        self.incoming: asyncio.Queue[LinkEvent] = asyncio.Queue()  # what events() yields

    async def events(self) -> AsyncIterator[LinkEvent]:
        while True:
            yield await self.incoming.get()

    def send(self, telemetry: bytes) -> bool:
        self.published.append(telemetry)
        return True

    def messages(self, kind: str | None = None) -> list[dict[str, Any]]:
        decoded = [json.loads(payload) for payload in self.published]
        return [m for m in decoded if kind is None or m.get("type") == kind]


class ManualClock:
    """A clock that moves only when the test sets ``now``: pass it where code takes a
    ``clock`` (``time.monotonic``-like)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


class SyncedClock:
    """The freshness gate's view of the clock, set by the test (the kernel's answer
    depends on the machine)."""

    def __init__(self, synced: bool = True) -> None:
        self.synced = synced

    def __call__(self) -> bool:
        return self.synced


def make_daemon(
    config: robot_config.Config, clock: SyncedClock | None = None
) -> tuple[Daemon, Any, RecordingLink]:
    """A daemon on the real sim board and a recording link, with its own e-stop latch in a
    fresh folder: (daemon, sim motors, link)."""
    motors = drivers.load("sim")
    link = RecordingLink()
    estop = EStop(Path(tempfile.mkdtemp(prefix="estop-")))
    gate = FreshnessGate(clock or SyncedClock())
    daemon = Daemon(config, motors, link, estop=estop, gate=gate)  # type: ignore[arg-type]
    return daemon, motors, link


REMOVE = "<remove this key>"  # a ``write_config`` value that leaves the key out


def sample_config() -> dict[str, Any]:
    """The sample's keys, on the sim board, with certificate paths under certs/."""
    return {
        "IOT_THINGNAME": "testbot",
        "IOT_CORE_ENDPOINT": "localhost",
        "IOT_GET_CREDENTIAL_ENDPOINT": "localhost:8443",
        "ROLE_ALIAS": "testbot-role-alias",
        "AWS_DEFAULT_REGION": "us-east-1",
        "IOT_CORE_PORT": 8883,
        "ROOT_CA_PATH": "certs/cacert.pem",
        "CERTIFICATE_PATH": "certs/certificate.pem",
        "PRIVATE_KEY_PATH": "certs/private.pem.key",
        "MOTOR_DRIVER": "sim",
        "MOTOR_OPTIONS": {},
        "DEFAULT_SPEED": 0.6,
        "COMMAND_TTL_MS": 500,
        "TELEMETRY_INTERVAL_MS": 1000,
        # At once, as the sample did; tests of ramping set their own limits.
        "MAX_ACCELERATION": 0,
        "MAX_DECELERATION": 0,
    }


def write_config(folder: Path, **changes: Any) -> Path:
    """Write config.json and its certificate files (key mode 0600) into ``folder``."""
    certs = folder / "certs"
    certs.mkdir(parents=True, exist_ok=True)
    for name in ("cacert.pem", "certificate.pem", "private.pem.key"):
        (certs / name).write_text(f"-----BEGIN TEST {name}-----\n")
    (certs / "private.pem.key").chmod(0o600)
    data = {**sample_config(), **changes}
    path = folder / "config.json"
    path.write_text(json.dumps({k: v for k, v in data.items() if v != REMOVE}, indent=2))
    return path


@pytest.fixture(scope="session")
def sim_config(tmp_path_factory: pytest.TempPathFactory) -> robot_config.Config:
    return robot_config.load(write_config(tmp_path_factory.mktemp("robot")), environ={})


@pytest.fixture
def daemon_parts(sim_config: robot_config.Config) -> Iterator[tuple[Daemon, Any, RecordingLink]]:
    daemon, motors, link = make_daemon(sim_config)
    with motors:
        yield daemon, motors, link


# --- strategies ----------------------------------------------------------------------------

unit_floats = st.floats(min_value=-1.0, max_value=1.0)
speeds = st.floats(min_value=0.0, max_value=1.0)
ttls = st.integers(min_value=MIN_TTL_MS, max_value=MAX_TTL_MS)
command_ids = st.text(
    st.characters(categories=("L", "N", "P", "S")), min_size=1, max_size=MAX_ID_LENGTH
)


@st.composite
def commands(draw: st.DrawFn, actions: tuple[str, ...] = ACTIONS, with_ts: bool = True) -> Command:
    """Valid commands: any action, with or without each optional field."""
    action = draw(st.sampled_from(actions))
    driving = action == "drive"
    # Held until cleared, or moving no wheels: no speed, no TTL.
    latching = action in (*LATCH_ACTIONS, *SESSION_ACTIONS, AUDIO_ACTION)
    audio = action == AUDIO_ACTION
    volume = draw(st.none() | st.integers(0, 100)) if audio else None
    return Command(
        action=action,
        linear=draw(unit_floats) if driving else None,
        angular=draw(unit_floats) if driving else None,
        speed=None if latching else draw(st.none() | speeds),
        ttl_ms=None if latching else draw(st.none() | ttls),
        id=draw(st.none() | command_ids),
        ts=draw(st.none() | st.integers(0, 2**53)) if with_ts else None,
        to=draw(command_ids) if action in ANSWER_ACTIONS else None,
        volume=volume,
        # An audio command sets one of them at least.
        mic=draw(st.booleans() if volume is None else st.none() | st.booleans()) if audio else None,
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELD_NAMES = (
    "action",
    "linear",
    "angular",
    "speed",
    "ttl_ms",
    "id",
    "ts",
    "to",
    *AUDIO_FIELDS,
    *ENDPOINT_FIELDS,
)
# Objects that look like commands: known fields (and now and then another) with any values.
command_like = st.dictionaries(
    st.sampled_from(FIELD_NAMES) | st.text(max_size=8),
    st.sampled_from(ACTIONS) | json_values,
    max_size=5,
)

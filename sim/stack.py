"""The whole simulated stack: broker, HTTP front with the real Lambdas, the local video
services (IoT credentials provider, KVS signaling), and the real daemon.

    with SimStack(state_dir) as stack:
        print(stack.url)      # POST {url}/publish drives the simulated robot

Leaving the block stops everything and leaves no process behind. While it runs, the stack
heals as the robot's service does: a broker, TURN server or daemon that dies is started again, with
backoff, and each restart is said on the console (``SimStack.console``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cloud.authorizer.app import Authorizer
from cloud.fleet.app import FleetEndpoint
from cloud.fleet.app import Settings as FleetSettings
from cloud.guests.app import GuestEndpoint
from cloud.guests.app import Settings as GuestSettings
from cloud.publish.app import PublishEndpoint
from cloud.publish.app import Settings as PublishSettings
from cloud.viewer.slots import URLS_PER_SUBJECT
from robot.contracts import tokens
from sim.aws import (
    authorization,
    console_site,
    dev_identity,
    iot_data,
    mqtt,
    secrets_manager,
    sigv4,
)
from sim.aws.api_gateway import Front
from sim.aws.certs import SimCerts, make_certs
from sim.aws.fleet_index import TelemetryLinks
from sim.aws.iot_core import Broker
from sim.aws.iot_data import IotDataPlane
from sim.aws.turn import TurnServer
from sim.aws.video import LocalVideo
from sim.daemons import RobotDaemon
from sim.robot import presence

log = logging.getLogger(__name__)

THING_NAME = "sim-robot"
START_TIMEOUT_S = 15
REGION = "us-east-1"
# The guest-link Lambda's key, and who alone may read it (its execution role, in AWS).
GUEST_KEY_SECRET = "sim/guest-link-key"
GUESTS_PRINCIPAL = "guests-lambda"
# Healing: how often the supervisor looks, and its backoff between restarts of one child
# (doubling from the first to the longest; a child that ran this long starts over).
SUPERVISE_POLL_S = 0.2
RESTART_BACKOFF_S = (0.5, 8.0)
STABLE_RUN_S = 30.0

Telemetry = dict[str, Any]


class StackError(RuntimeError):
    pass


class SimStack:
    """The stack with ``robots`` simulated robots: the first is ``thing_name`` (``POST
    /publish`` drives it), the others ``{thing_name}-2`` and on, each a daemon of its own with
    its own certificate, topics, camera and video channel, on one broker behind one front."""

    def __init__(
        self,
        state_dir: Path,
        port: int = 8080,
        thing_name: str = THING_NAME,
        daemon_log: Path | None = None,
        heal: bool = True,
        console: Callable[[str], None] | None = None,
        robots: int = 1,
        robot_settings: dict[str, Any] | None = None,
        viewer_urls_per_subject: int = URLS_PER_SUBJECT,
    ) -> None:
        """``settings``: config.json keys every robot gets over the simulator's own (another
        room, say: ``AUDIO_OPTIONS``)."""
        if robots < 1:
            raise StackError(f"a simulator needs at least one robot, not {robots}")
        # Absolute: the robot's config names files in it, relative to the config's own folder.
        self.state_dir = Path(state_dir).resolve()
        self.port = port
        self.thing_name = thing_name
        self.viewer_urls_per_subject = viewer_urls_per_subject
        # The first robot's files are the state folder's own; each other robot has a folder.
        self.robots = [RobotDaemon(thing_name, self.state_dir, daemon_log)] + [
            RobotDaemon(name, self.state_dir / "robots" / name)
            for name in (f"{thing_name}-{number}" for number in range(2, robots + 1))
        ]
        self._stack = contextlib.ExitStack()
        self.certs: SimCerts | None = None
        self.broker: Broker | None = None
        self.front: Front | None = None
        self.video: LocalVideo | None = None
        self.turn: TurnServer | None = None
        # Called with each telemetry message of the first robot, on the MQTT client's thread:
        # hand over, return.
        self.telemetry_listeners: list[Callable[[Telemetry], None]] = []
        self._robot_listeners: dict[str, list[Callable[[Telemetry], None]]] = {
            robot.name: [] for robot in self.robots
        }
        self._publisher: Any = None
        self.identity: dev_identity.DevIdentity | None = None
        self.heal = heal
        self.robot_settings = dict(robot_settings or {})  # config.json keys over the defaults
        self.links = TelemetryLinks()  # fleet indexing's stand-in, for GET /robots
        self.console = console or _to_stderr
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._lifecycle = threading.Lock()  # a restart and stop() never overlap
        self._supervisor: threading.Thread | None = None

    @property
    def robot(self) -> RobotDaemon:
        """The first robot, the stack's own."""
        return self.robots[0]

    @property
    def daemon(self) -> subprocess.Popen[bytes] | None:
        return self.robot.process

    @property
    def daemon_log(self) -> Path:
        return self.robot.log_path

    @property
    def wheels_file(self) -> Path:
        return self.robot.wheels_file

    @property
    def config_path(self) -> Path:
        return self.robot.config_path

    @property
    def url(self) -> str:
        assert self.front is not None
        return self.front.url

    def __enter__(self) -> SimStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        names = [robot.name for robot in self.robots]
        self.certs = make_certs(self.state_dir / "certs", *names)
        self.turn = self._stack.enter_context(TurnServer(self.state_dir / "turn"))
        self.video = self._stack.enter_context(
            LocalVideo(
                self.thing_name,
                self.certs,
                REGION,
                turn=self.turn,
                urls_per_subject=self.viewer_urls_per_subject,
            )
        )
        self.broker = self._stack.enter_context(
            Broker(self.state_dir / "broker", self.certs, *names)
        )
        self.identity = dev_identity.dev_identity(self.state_dir, self.thing_name, names[1:])
        for robot in self.robots:
            self._write_robot_config(robot)
        publisher = self._stack.enter_context(
            mqtt.session(
                self.broker.host, self.broker.port, self.certs.ca, self.certs.publisher, "sim-front"
            )
        )
        self._publisher = publisher
        self.front = self._start_front(publisher)
        for name in names:
            publisher.subscribe(f"{name}/telemetry", 0, self._on_telemetry)
        self._stack.callback(self._stop_daemons)
        self._start_daemons()
        if self.heal:
            self._supervisor = threading.Thread(target=self._supervise, name="sim-supervisor")
            self._supervisor.start()

    def start_daemon(self, robot: RobotDaemon | None = None) -> None:
        """Start a robot's daemon (the first robot's by default) and wait until it reports in."""
        robot = robot or self.robot
        robot.spawn()
        self.wait_for_telemetry(_online, START_TIMEOUT_S, robot)

    def stop_daemon(self, robot: RobotDaemon | None = None) -> None:
        (robot or self.robot).stop()

    def _start_daemons(self) -> None:
        """Start every robot's daemon at once, the first through ``start_daemon``; then wait
        until each reports in."""
        waits = []
        for robot in self.robots[1:]:
            waits.append((robot, self._listen(robot)))
            robot.spawn()
        try:
            self.start_daemon()
            for robot, received in waits:
                self.first_telemetry(received, _online, START_TIMEOUT_S, robot)
        finally:
            for robot, received in waits:
                self._robot_listeners[robot.name].remove(received.put_nowait)

    def _stop_daemons(self) -> None:
        for robot in self.robots:
            robot.stop()

    def _listen(self, robot: RobotDaemon) -> queue.Queue[Telemetry]:
        received: queue.Queue[Telemetry] = queue.Queue()
        self._robot_listeners[robot.name].append(received.put_nowait)
        return received

    def wait_for_telemetry(
        self,
        predicate: Callable[[Telemetry], bool],
        timeout: float,
        robot: RobotDaemon | None = None,
    ) -> Telemetry:
        """The first telemetry message of ``robot`` (the first robot by default) from now on
        that satisfies ``predicate``."""
        robot = robot or self.robot
        received = self._listen(robot)
        try:
            return self.first_telemetry(received, predicate, timeout, robot)
        finally:
            self._robot_listeners[robot.name].remove(received.put_nowait)

    def first_telemetry(
        self,
        received: queue.Queue[Telemetry],
        predicate: Callable[[Telemetry], bool],
        timeout: float,
        robot: RobotDaemon | None = None,
    ) -> Telemetry:
        """The first message in ``received`` that satisfies ``predicate``; StackError, with the
        end of the daemon's log, if ``robot``'s daemon exits or ``timeout`` passes first."""
        robot = robot or self.robot
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                message = received.get(timeout=max(0.0, min(remaining, 0.2)))
            except queue.Empty:
                # What a daemon said before it exited still counts; after that, it never will.
                if robot.exited():
                    assert robot.process is not None
                    raise StackError(
                        f"the daemon of {robot.name} exited with code "
                        f"{robot.process.returncode}:\n" + robot.log_tail()
                    ) from None
                if remaining <= 0:
                    raise StackError(
                        f"no matching telemetry from {robot.name} within {timeout} s:\n"
                        + robot.log_tail()
                    ) from None
                continue
            if predicate(message):
                return message

    def stop(self) -> None:
        self._stopping.set()
        try:
            with self._lifecycle:
                self._stack.close()
        finally:
            # Only now may the supervisor's thread end: the children it started get SIGTERM
            # from the kernel when it does (sim.processes).
            self._stopped.set()
            if self._supervisor is not None:
                self._supervisor.join()

    def _supervise(self) -> None:
        services = {"broker": self.broker, "TURN server": self.turn}
        restarts = {name: _Restarts() for name in [*services, *(r.name for r in self.robots)]}
        while not self._stopping.wait(SUPERVISE_POLL_S):
            exited = [name for name, service in services.items() if service and service.exited()]
            if exited:
                service = services[exited[0]]
                assert service is not None
                self._restart(exited[0], restarts[exited[0]], service.returncode)
                continue
            for robot in self.robots:
                if robot.exited():
                    assert robot.process is not None
                    code = robot.process.returncode
                    self._restart(robot, restarts[robot.name], code)
                    break
        self._stopped.wait()

    def _restart(self, child: str | RobotDaemon, restarts: _Restarts, code: int | None) -> None:
        name = child if isinstance(child, str) else _daemon_name(child, self.robot)
        delay = restarts.next_delay()
        self.console(f"the {name} exited (code {code}); starting it again in {delay:.1f} s")
        if self._stopping.wait(delay):
            return
        with self._lifecycle:
            if self._stopping.is_set():
                return
            try:
                if child == "broker":
                    assert self.broker is not None
                    self.broker.restart()
                elif child == "TURN server":
                    assert self.turn is not None
                    self.turn.restart()
                else:
                    self.start_daemon(child)
            except Exception as exc:  # said, and tried again after a longer backoff
                self.console(f"the {name} did not start again: {exc}")
                return
        self.console(f"the {name} is running again")

    def _start_front(self, publisher: Any) -> Front:
        # The publish Lambda's own credentials: the data plane accepts no other signature.
        store = sigv4.CredentialStore()
        lambda_credentials = iot_data.issue_credentials(store)
        front = Front(
            self.port,
            IotDataPlane(
                lambda topic, payload, qos: publisher.publish(topic, payload, qos), store, REGION
            ),
        )
        self._stack.callback(front.stop)
        self.port = front.port  # the port the OS chose, when asked for port 0
        front.telemetry = self.robot.telemetry  # GET /telemetry: the first robot's
        assert self.identity is not None
        # The real Lambdas, built as their handlers build themselves in AWS, but with the
        # settings the template would give them passed in, and boto3 pointed at this front's
        # IoT data plane.
        client = iot_data.boto3_client(front.url, lambda_credentials, REGION)
        settings = PublishSettings(robot_name=self.thing_name, fleet_prefix=f"{self.thing_name}-")
        publish = presence.gated(
            PublishEndpoint(settings, client),
            {robot.name: robot.telemetry for robot in self.robots},
            self.thing_name,
        )
        front.lambda_routes["POST /publish"] = publish
        front.lambda_routes["POST /robots/{name}/publish"] = publish
        assert self.video is not None
        viewer = self.video.viewer_handler()
        front.lambda_routes["POST /viewer"] = viewer
        front.lambda_routes["POST /robots/{name}/viewer"] = viewer
        front.lambda_routes["GET /robots"] = FleetEndpoint(
            FleetSettings(
                tuple(robot.name for robot in self.robots), fleet_prefix=f"{self.thing_name}-"
            ),
            self.links,
        )
        front.lambda_routes["POST /robots/{name}/guests"] = self._guests(front, store)
        self.video.allow_pages_of(front.origins)
        assert self.video.signaling is not None
        site = console_site.site(front.url, self.video.viewer_origin())
        for route in console_site.ROUTES:
            front.lambda_routes[route] = site
            front.open_routes.add(route)
        authorizer = Authorizer.from_environ(self.identity.environ)
        front.authorize = authorization.front_authorizer(authorization.cached(authorizer))
        front.start()
        return front

    def _guests(self, front: Front, store: sigv4.CredentialStore) -> GuestEndpoint:
        """The guest-link Lambda, its key (the dev key) in a Secrets Manager on the front that
        lets it, and only it, read that secret."""
        credentials = sigv4.issue_random(store, GUESTS_PRINCIPAL)
        manager = secrets_manager.SecretsManager(store, REGION)
        key = tokens.private_pem(dev_identity.dev_key(self.state_dir))
        manager.create(GUEST_KEY_SECRET, key, {GUESTS_PRINCIPAL})
        front.serve_secrets(manager)
        settings = GuestSettings(
            secret_id=GUEST_KEY_SECRET,
            robot_name=self.thing_name,
            fleet_prefix=f"{self.thing_name}-",
            issuer=dev_identity.DEV_ISSUER,
            audience=dev_identity.DEV_AUDIENCE,
            console_url=front.url,
        )
        client = sigv4.boto3_client("secretsmanager", front.url, credentials, REGION)
        return GuestEndpoint(settings, client)

    def _on_telemetry(self, client: Any, userdata: Any, message: Any) -> None:
        name = message.topic.split("/")[0]
        robot = next((robot for robot in self.robots if robot.name == name), None)
        if robot is None:
            return
        robot.telemetry.record(message.payload)
        self.links.record(name, message.payload)
        listeners = [*self._robot_listeners[name]]
        if robot is self.robot:
            listeners += self.telemetry_listeners
        if not listeners:
            return
        with contextlib.suppress(ValueError):
            decoded = json.loads(message.payload)
            for listener in listeners:
                listener(decoded)

    def _write_robot_config(self, robot: RobotDaemon) -> None:
        assert self.certs is not None and self.broker is not None and self.video is not None
        assert self.identity is not None
        robot.folder.mkdir(parents=True, exist_ok=True)
        settings = {
            **robot_config(robot.name, self.broker.port, self.certs),
            **self.video.robot_config(),
            **sim_camera_config(robot.wheels_file),
            **sim_guard_config(robot.wheels_file),
            **sim_audio_config(robot.speaker_file),
            # Consoles on the data channel sign in with the simulator's development tokens.
            **operator_tokens(self.identity),
            # The simulator's authorizer runs with FLEET_TOKENS false, as a stack deploys.
            "UNSCOPED_TOKENS": "accepted" if robot is self.robot else "refused",
            **self.robot_settings,
        }
        robot.config_path.write_text(json.dumps(settings, indent=2) + "\n")


class _Restarts:
    """Backoff between restarts of one child: doubling while it keeps dying, from the start
    again once it ran for STABLE_RUN_S."""

    def __init__(self) -> None:
        self._delay = 0.0
        self._last = -STABLE_RUN_S

    def next_delay(self) -> float:
        now = time.monotonic()
        shortest, longest = RESTART_BACKOFF_S
        stable = now - self._last >= STABLE_RUN_S
        self._delay = shortest if stable else min(self._delay * 2, longest)
        self._last = now
        return self._delay


def _online(message: Telemetry) -> bool:
    return message.get("link") == "online"


def _daemon_name(robot: RobotDaemon, first: RobotDaemon) -> str:
    """How the console names a daemon: the first robot's is "the daemon", as with one robot."""
    return "daemon" if robot is first else f"daemon of {robot.name}"


def _to_stderr(line: str) -> None:
    print(f"robot sim: {line}", file=sys.stderr, flush=True)


def sim_camera_config(state_file: Path) -> dict[str, Any]:
    """The robot's video on the simulated camera, which follows the sim board's pose through
    the board's state file (sim/robot/camera.py)."""
    return {
        "MOTOR_OPTIONS": {"sim": {"state_file": str(state_file)}},
        "VIDEO_PRODUCER": "python",
        "VIDEO_SOURCE": "sim",
        "VIDEO_OPTIONS": {"state_file": str(state_file)},
    }


def sim_guard_config(state_file: Path) -> dict[str, Any]:
    """The obstacle guard on the simulated rangefinder, which measures the sim board's world
    from the pose in the board's state file (sim/robot/rangefinder.py)."""
    return {
        "OBSTACLE_GUARD": {
            "sensor": "sim",
            "options": {"state_file": str(state_file)},
            "slow_m": 0.5,
            "stop_m": 0.2,
        }
    }


def sim_audio_config(recording: Path) -> dict[str, Any]:
    """The robot's audio in the simulated room (sim/robot/room.py), its speaker recorded."""
    return {"AUDIO_DEVICES": "sim", "AUDIO_OPTIONS": {"recording": str(recording)}}


def operator_tokens(identity: dev_identity.DevIdentity) -> dict[str, str]:
    """The robot's settings to verify the tokens the authorizer accepts, as it does."""
    names = ("JWT_ISSUER", "JWT_AUDIENCE", "JWT_PUBLIC_KEY")
    return {name: identity.environ[name] for name in names}


def robot_config(thing_name: str, port: int, certs: SimCerts) -> dict[str, Any]:
    """The robot's config.json for the local broker, on the sim board."""
    return {
        "IOT_THINGNAME": thing_name,
        "IOT_CORE_ENDPOINT": "localhost",  # the name the broker's certificate carries
        "IOT_CORE_PORT": port,
        "IOT_GET_CREDENTIAL_ENDPOINT": "",
        "ROLE_ALIAS": "",
        "AWS_DEFAULT_REGION": REGION,
        "ROOT_CA_PATH": str(certs.ca),
        "CERTIFICATE_PATH": str(certs.things[thing_name].cert),
        "PRIVATE_KEY_PATH": str(certs.things[thing_name].key),
        "MOTOR_DRIVER": "sim",
        "TELEMETRY_INTERVAL_MS": 200,  # a lively pose for people watching GET /telemetry
        # The simulated Pi's health, and a 3-cell pack that drains with the wheels' work.
        "HEALTH_SOURCE": "sim",
        "BATTERY": {"sensor": "sim", "cells": 3, "capacity_mah": 2200},
    }

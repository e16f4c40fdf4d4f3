"""The whole simulated stack: broker, HTTP front with the real Lambda, and the real daemon.

    with SimStack(state_dir) as stack:
        print(stack.url)      # POST {url}/publish drives the simulated robot

Leaving the block stops everything and leaves no process behind.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import queue
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest.mock import patch

from sim.aws import authorization, dev_identity, mqtt
from sim.aws.api_gateway import Front
from sim.aws.certs import SimCerts, make_certs
from sim.aws.iot_core import Broker
from sim.processes import spawn_child

log = logging.getLogger(__name__)

THING_NAME = "sim-robot"
START_TIMEOUT_S = 15


class StackError(RuntimeError):
    pass


class SimStack:
    def __init__(
        self,
        state_dir: Path,
        port: int = 8080,
        thing_name: str = THING_NAME,
        daemon_log: Path | None = None,
    ) -> None:
        # Absolute: the robot's config names files in it, relative to the config's own folder.
        self.state_dir = Path(state_dir).resolve()
        self.port = port
        self.thing_name = thing_name
        self.daemon_log = daemon_log or self.state_dir / "daemon.log"
        self._stack = contextlib.ExitStack()
        self.certs: SimCerts | None = None
        self.broker: Broker | None = None
        self.front: Front | None = None
        self.daemon: subprocess.Popen[bytes] | None = None
        self._telemetry: queue.Queue[dict[str, Any]] = queue.Queue()
        self._publisher: Any = None
        self.identity: dev_identity.DevIdentity | None = None

    @property
    def url(self) -> str:
        assert self.front is not None
        return self.front.url

    @property
    def config_path(self) -> Path:
        return self.state_dir / "config.json"

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
        self.certs = make_certs(self.state_dir / "certs", self.thing_name)
        self.broker = self._stack.enter_context(
            Broker(self.state_dir / "broker", self.certs, self.thing_name)
        )
        self._write_robot_config()
        publisher = self._stack.enter_context(
            mqtt.session(
                self.broker.host, self.broker.port, self.certs.ca, self.certs.publisher, "sim-front"
            )
        )
        self._publisher = publisher
        self.front = self._start_front(publisher)
        publisher.subscribe(f"{self.thing_name}/telemetry", 0, self._on_telemetry)
        self._stack.callback(self.stop_daemon)
        self.start_daemon()

    def start_daemon(self) -> None:
        """Start the real daemon on the sim board and wait until it reports in."""
        self.drain_telemetry()
        with self.daemon_log.open("ab") as log_file:  # the child keeps its own copy
            self.daemon = spawn_child(
                [sys.executable, "-m", "robot.cli", "run", "--config", str(self.config_path)],
                log_file,
                env={**os.environ, "MOTOR_DRIVER": "sim", "PYTHONUNBUFFERED": "1"},
            )
        self.wait_for_telemetry(lambda message: message.get("link") == "online", START_TIMEOUT_S)

    def stop_daemon(self) -> None:
        daemon, self.daemon = self.daemon, None
        if daemon is None or daemon.poll() is not None:
            return
        daemon.terminate()
        try:
            daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()

    def publish_command(self, payload: bytes) -> None:
        """Publish straight to the robot's action topic, as IoT Core would deliver it."""
        self._publisher.publish(f"{self.thing_name}/action", payload, 1)

    def auth_headers(self) -> dict[str, str]:
        """The headers that authorize a request to the REST endpoint, with the dev token."""
        assert self.identity is not None
        return {"Authorization": self.identity.authorization}

    def drain_telemetry(self) -> list[dict[str, Any]]:
        """Telemetry received and not yet waited for; afterwards, waits see only what is new."""
        messages = []
        with contextlib.suppress(queue.Empty):
            while True:
                messages.append(self._telemetry.get_nowait())
        return messages

    def wait_for_telemetry(self, predicate: Any, timeout: float) -> dict[str, Any]:
        """The first telemetry message from now on that satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                message = self._telemetry.get(timeout=max(0.0, min(remaining, 0.2)))
            except queue.Empty:
                # What a daemon said before it exited still counts; after that, it never will.
                if self.daemon is not None and self.daemon.poll() is not None:
                    raise StackError(
                        f"the daemon exited with code {self.daemon.returncode}:\n"
                        + self._daemon_log_tail()
                    ) from None
                if remaining <= 0:
                    raise StackError(
                        f"no matching telemetry within {timeout} s:\n" + self._daemon_log_tail()
                    ) from None
                continue
            if predicate(message):
                return message

    def stop(self) -> None:
        self._stack.close()

    def _start_front(self, publisher: Any) -> Front:
        front = Front(
            self.port,
            mqtt_publish=lambda topic, payload, qos: publisher.publish(topic, payload, qos),
        )
        self._stack.callback(front.stop)
        self.port = front.server_address[1]  # the port the OS chose, when asked for port 0
        self.identity = dev_identity.dev_identity(self.state_dir, robot=self.thing_name)
        # The Lambdas read these as they load and on their first request, as in AWS. Set for
        # as long as the stack runs, then put back as they were, for whatever else runs here.
        self._stack.enter_context(
            patch.dict(
                os.environ,
                {
                    "AWS_ENDPOINT_URL_IOT_DATA_PLANE": front.url,
                    "AWS_DEFAULT_REGION": "us-east-1",
                    "AWS_ACCESS_KEY_ID": "sim",
                    "AWS_SECRET_ACCESS_KEY": "sim",
                    **self.identity.environ,
                },
            )
        )
        front.publish_handler = load_lambda("cloud.publish.app").handler
        authorizer = load_lambda("cloud.authorizer.app").handler
        front.authorize = authorization.front_authorizer(authorization.cached(authorizer))
        front.start()
        return front

    def _on_telemetry(self, client: Any, userdata: Any, message: Any) -> None:
        assert self.front is not None
        self.front.on_telemetry(message.payload)
        with contextlib.suppress(ValueError):
            self._telemetry.put_nowait(json.loads(message.payload))

    def _write_robot_config(self) -> None:
        assert self.certs is not None and self.broker is not None
        settings = robot_config(self.thing_name, self.broker.port, self.certs)
        self.config_path.write_text(json.dumps(settings, indent=2) + "\n")

    def _daemon_log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.daemon_log.read_text().splitlines()[-lines:])
        except OSError:
            return "(no daemon log)"


def robot_config(thing_name: str, port: int, certs: SimCerts) -> dict[str, Any]:
    """The robot's config.json for the local broker, on the sim board."""
    return {
        "IOT_THINGNAME": thing_name,
        "IOT_CORE_ENDPOINT": "localhost",  # the name the broker's certificate carries
        "IOT_CORE_PORT": port,
        "IOT_GET_CREDENTIAL_ENDPOINT": "",
        "ROLE_ALIAS": "",
        "AWS_DEFAULT_REGION": "us-east-1",
        "ROOT_CA_PATH": str(certs.ca),
        "CERTIFICATE_PATH": str(certs.robot.cert),
        "PRIVATE_KEY_PATH": str(certs.robot.key),
        "MOTOR_DRIVER": "sim",
        "TELEMETRY_INTERVAL_MS": 200,  # a lively pose for people watching GET /telemetry
    }


def load_lambda(module_name: str) -> ModuleType:
    """A fresh instance of a Lambda module, as a new Lambda container would load it.

    Its clients are built at import from the environment set just before, even when the
    module was imported earlier in this process with another one.
    """
    spec = importlib.util.find_spec(module_name)
    assert spec is not None and spec.loader is not None, module_name
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

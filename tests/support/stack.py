"""The simulated stack as tests use it: every telemetry message kept until a test reads it,
commands published straight to the robot's topic, and the dev token's headers."""

from __future__ import annotations

import contextlib
import queue
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from robot.contracts import tokens
from robot.daemon.config import KEYS_BY_NAME
from sim.aws import dev_identity
from sim.daemons import RobotDaemon
from sim.stack import SimStack, Telemetry
from tests.support import tls

DEFAULT_SPEED = KEYS_BY_NAME["DEFAULT_SPEED"].default

# Forward for 5 s: long enough that only a stop, a lost link or a dead daemon ends it.
LONG_FORWARD = '{"action": "forward", "ttl_ms": 5000, "id": "%s"}'
# The suite opens more consoles with the one dev subject in a minute than an operator
# would: its stacks let a subject hold this many viewer URLs, unless a test asks for the
# real cap (tests/e2e/test_viewer_url_cap.py).
SUITE_URLS_PER_SUBJECT = 1000


class RecordingStack(SimStack):
    def __init__(self, state_dir: Path, **kwargs: Any) -> None:
        kwargs.setdefault("viewer_urls_per_subject", SUITE_URLS_PER_SUBJECT)
        super().__init__(state_dir, **kwargs)
        self._recorded: queue.Queue[Telemetry] = queue.Queue()
        self.telemetry_listeners.append(self._recorded.put_nowait)

    def start(self) -> None:
        super().start()
        assert self.certs is not None
        tls.trust(self.certs.ca)  # the test's signaling clients meet its wss:// hosts

    def start_daemon(self, robot: RobotDaemon | None = None) -> None:
        if robot in (None, self.robot):
            self.drain_telemetry()  # what an earlier daemon said is not news about this one
        super().start_daemon(robot)

    def publish_command(self, payload: bytes) -> None:
        """Publish straight to the robot's action topic, as IoT Core would deliver it."""
        self._publisher.publish(f"{self.thing_name}/action", payload, 1)

    def drive_until_moving(self, command_id: str) -> None:
        """Send forward with a 5 s TTL straight to the robot; return once the wheels have
        ramped up to the command's speed."""
        self.drain_telemetry()
        self.publish_command((LONG_FORWARD % command_id).encode())
        moving = self.wait_for_telemetry(
            lambda m: (
                (m.get("command") or {}).get("id") == command_id
                and m["wheels"]["left"] == DEFAULT_SPEED
            ),
            timeout=5,
        )
        assert moving["reason"] == "command"

    def expired_guest_token(self) -> str:
        """A guest link's token for the stack's robot, signed with the dev key an hour ago
        for ten minutes."""
        guest = tokens.mint_guest(
            dev_identity.dev_key(self.state_dir),
            "Ann",
            self.thing_name,
            600,
            issuer=dev_identity.DEV_ISSUER,
            audience=dev_identity.DEV_AUDIENCE,
            now=time.time() - 3600,
        )
        return guest.token

    def auth_headers(self) -> dict[str, str]:
        """The headers that authorize a request to the REST endpoint, with the dev token."""
        assert self.identity is not None
        return {"Authorization": self.identity.authorization}

    def drain_telemetry(self) -> list[Telemetry]:
        """Telemetry received and not yet waited for; afterwards, waits see only what is new."""
        messages = []
        with contextlib.suppress(queue.Empty):
            while True:
                messages.append(self._recorded.get_nowait())
        return messages

    def wait_for_telemetry(
        self,
        predicate: Callable[[Telemetry], bool],
        timeout: float,
        robot: RobotDaemon | None = None,
    ) -> Telemetry:
        """The first message that satisfies ``predicate``: of the first robot, among those
        recorded and not yet read; of another robot, from now on."""
        if robot not in (None, self.robot):
            return super().wait_for_telemetry(predicate, timeout, robot)
        return self.first_telemetry(self._recorded, predicate, timeout)

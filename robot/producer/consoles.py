"""Consoles on the data channel: who they are, and their commands on to the daemon.

Speaks the data channel's hello/welcome/denied messages (docs/protocol.md, "The data
channel"): a token is verified with the authorizer's own code (robot/contracts/verify.py,
with the robot's ``JWT_*`` settings); after the welcome each message is a command payload,
passed to the daemon with the token's grants over the control socket; the daemon admits it.
Whenever a console is welcomed or goes, the daemon is told who watches (the welcomed tokens'
subjects).
Telemetry from the daemon goes to every welcomed console as it comes.

Runs in the producer's process, on its loop; verifying a token may fetch the identity
provider's keys, so it runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import jwt

from robot.contracts import access, protocol, verify
from robot.contracts.control import command_message, watchers_message

log = logging.getLogger(__name__)

LABEL = "control"
# Telemetry to a console that does not read it piles up in its channel's buffer: beyond this,
# messages are skipped for it (the next one says everything anyway).
MAX_BUFFERED_BYTES = 256 * 1024
# A command longer than the protocol allows is cut here and still refused by the daemon
# ("payload is N bytes"), without carrying a huge message across the control socket.
FORWARD_LIMIT = protocol.MAX_PAYLOAD_BYTES + 1
# A refusal is sent, then the channel closed this much later: closing at once could reset
# the stream before the refusal left.
CLOSE_DELAY_S = 0.2


class Operators:
    """The consoles of one robot. ``verifier`` None: the robot verifies no tokens, so every
    console is denied."""

    def __init__(
        self,
        robot: str,
        verifier: verify.Verifier | None,
        to_daemon: Callable[[dict[str, Any]], bool],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.robot = robot
        self.verifier: verify.Verifier | None = verifier
        self.to_daemon = to_daemon
        self.clock = clock
        self.consoles: set[Console] = set()

    def attach(self, channel: Any) -> None:
        """Take a data channel a viewer opened (others than ``control`` are closed)."""
        if channel.label != LABEL:
            channel.close()
            return
        console = Console(self, channel)
        self.consoles.add(console)
        channel.on("message", console.received)
        channel.on("close", lambda: self.leave(console))

    def leave(self, console: Console) -> None:
        """A console is gone (closed, or denied): if it watched, say who watches now."""
        if console in self.consoles:
            self.consoles.discard(console)
            if console.grants is not None:
                self.watchers_changed()

    def watchers_changed(self) -> None:
        subjects = (console.grants.subject for console in self.consoles if console.grants)
        self.to_daemon(watchers_message(subjects))

    def telemetry(self, text: str) -> None:
        """Pass one telemetry message, as the daemon encoded it, to every welcomed console."""
        for console in list(self.consoles):
            if console.grants is not None:
                console.send_text(text)


class Console:
    """One console's data channel."""

    def __init__(self, operators: Operators, channel: Any) -> None:
        self.operators = operators
        self.channel = channel
        self.grants: access.Grants | None = None  # once welcomed
        self.expires = 0.0
        self.state = "new"  # then "verifying", "welcomed" or "denied"
        self._tasks: set[asyncio.Task[None]] = set()

    def received(self, data: str | bytes) -> None:
        text = data if isinstance(data, str) else data.decode("utf-8", "replace")
        if self.state == "welcomed":
            self._command(text)
        elif self.state == "verifying":
            self.deny("nothing but the hello until the welcome")
        elif self.state == "new":
            self.state = "verifying"
            task = asyncio.get_running_loop().create_task(self._hello(text))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _hello(self, text: str) -> None:
        try:
            hello = json.loads(text)
        except ValueError:
            hello = None
        if not isinstance(hello, dict) or hello.get("type") != "hello":
            self.deny('say {"type": "hello", "token": "<JWT>"} first')
            return
        token = hello.get("token")
        verifier = self.operators.verifier
        if verifier is None:
            self.deny("this robot verifies no operator tokens (its JWT_* settings are empty)")
            return
        if not isinstance(token, str):
            self.deny("the hello carries no token")
            return
        try:
            grants = await asyncio.to_thread(verifier.verify, f"Bearer {token}")
            access.check_view(grants, self.operators.robot)
        except access.AccessDenied as exc:
            self.deny(str(exc))
            return
        except Exception as exc:  # whatever the verifier raises is a refusal
            log.info("console denied: %s", type(exc).__name__)
            self.deny("invalid token")
            return
        if self.state != "verifying":
            return  # denied meanwhile
        self.expires = _expiry(token)
        self.grants = grants
        self.state = "welcomed"
        log.info("console of %s welcomed", grants.subject)
        self.operators.watchers_changed()
        self.send(
            {
                "type": "welcome",
                "robot": self.operators.robot,
                "drive": _may(grants, self.operators.robot, "drive"),
                "admin": _may(grants, self.operators.robot, "clear_estop"),
            }
        )

    def _command(self, text: str) -> None:
        assert self.grants is not None
        if self.operators.clock() > self.expires:
            self.deny("the token has expired; sign in again")
            return
        self.operators.to_daemon(command_message(text[:FORWARD_LIMIT], self.grants))

    def send(self, message: dict[str, Any]) -> None:
        self.send_text(json.dumps(message, separators=(",", ":")))

    def send_text(self, text: str) -> None:
        if self.channel.readyState != "open":
            return
        if self.channel.bufferedAmount > MAX_BUFFERED_BYTES:
            return
        self.channel.send(text)

    def deny(self, reason: str) -> None:
        self.send({"type": "denied", "reason": reason})
        self.operators.leave(self)
        self.state, self.grants = "denied", None
        asyncio.get_running_loop().call_later(CLOSE_DELAY_S, self.channel.close)


def _may(grants: access.Grants, robot: str, action: str) -> bool:
    try:
        access.check_command(grants, robot, action)
    except access.AccessDenied:
        return False
    return True


def _expiry(token: str) -> float:
    """When a verified token stops being good (its ``exp``, which the verifier required,
    with the verifier's leeway)."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return float(claims["exp"]) + verify.LEEWAY_SECONDS


def verifier_from(settings: Mapping[str, str]) -> verify.Verifier | None:
    """The verifier the robot's ``JWT_*`` settings describe (the producer's environment),
    or None when they are empty."""
    if not settings.get("JWT_ISSUER"):
        return None
    return verify.from_environment(settings)

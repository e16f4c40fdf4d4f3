"""Consoles on the data channel: who they are, and their commands on to the daemon.

Speaks the data channel's hello/welcome/denied messages (docs/protocol.md, "The data
channel"): a token is verified with the authorizer's own code (robot/contracts/verify.py,
with the robot's ``JWT_*`` settings) and confined by the unscoped-token rule
(robot/contracts/admission.py, the robot's ``UNSCOPED_TOKENS``). One ``control`` channel per
connection. After the welcome each message is a command payload, admitted here with the
token's grants: a refused one is answered to its console alone (never to the daemon, MQTT or
other consoles), an admitted one passed to the daemon with the grants over the control
socket; the daemon admits it again. Past ``COMMAND_RATE`` a second (``COMMAND_BURST`` at once)
the channel is closed, after passing on an ``estop`` that overflowed; at the token's ``exp``
too, and the connection with it when no other console on it is welcomed (the ``Host``, the
signaling master, does that). Whenever a console is welcomed or goes, the daemon is told who
watches (the welcomed tokens' subjects). Telemetry from the daemon goes to every welcomed
console.

Runs in the producer's process, on its loop; verifying a token may fetch the identity
provider's keys, so it runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import jwt

from robot.contracts import access, admission, protocol, verify
from robot.contracts.admission import CommandPath, UnscopedTokens
from robot.contracts.control import command_message, watchers_message
from robot.contracts.ratelimit import LogBudget, TokenBucket
from robot.contracts.refusals import Refusal
from robot.contracts.telemetry import rejection_message
from robot.producer.slots import HELLO_S

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
# The console sends a drive command on change and a keep-alive within its TTL, an operator's
# keys a few a second: twice its busiest is still far below what would load the daemon.
COMMAND_RATE = 20.0
COMMAND_BURST = 40
# The producer's own line about refused commands, at most this often per console.
REFUSAL_LOG_S = 10.0


class Host(Protocol):
    """Who holds the consoles' connections (the signaling master): it lends a connection a
    slot while it proves itself, and closes the connection once nothing welcomed is on it."""

    def welcomed(self, peer: str, subject: str, drives: bool) -> str | None:
        """None if this console may stay on ``peer``, else why not."""

    def farewell(self, peer: str, subject: str, last: bool) -> None:
        """A welcomed console on ``peer`` ended; ``last``: no other welcomed one is there."""


class Operators:
    """The consoles of one robot. ``verifier`` None: the robot verifies no tokens, so every
    console is denied. ``unscoped``: what a token without a ``robots`` claim reaches."""

    def __init__(
        self,
        robot: str,
        verifier: verify.Verifier | None,
        to_daemon: Callable[[dict[str, Any]], bool],
        clock: Callable[[], float] = time.time,
        unscoped: UnscopedTokens = UnscopedTokens.ACCEPTED,
    ) -> None:
        self.robot = robot
        self.verifier: verify.Verifier | None = verifier
        self.to_daemon = to_daemon
        self.clock = clock
        self.reach = admission.robot_reach(robot, unscoped)
        self.host: Host | None = None
        # Applies an admitted "audio" command (the producer's audio engine), if it has one.
        self.audio: Callable[[protocol.Command], None] | None = None
        self.audio_state: dict[str, Any] | None = None  # the engine's latest, for newcomers
        self.consoles: set[Console] = set()
        self._channels: dict[str, Console] = {}  # the control channel of each peer

    def attach(
        self,
        channel: Any,
        peer: str = "",
        round_trip_ms: Callable[[], float | None] = lambda: None,
    ) -> None:
        """Take a data channel a viewer opened on its connection ``peer`` (another label, or
        a second ``control`` channel, is closed); ``round_trip_ms()``: that connection's
        latest round trip, passed on with each command."""
        if channel.label != LABEL or peer in self._channels:
            channel.close()
            return
        console = Console(self, channel, peer, round_trip_ms)
        self._channels[peer] = console
        self.consoles.add(console)
        channel.on("message", console.received)
        channel.on("close", console.closed)

    def detach(self, console: Console) -> None:
        self.consoles.discard(console)
        if self._channels.get(console.peer) is console:
            del self._channels[console.peer]

    def welcomed_on(self, peer: str) -> bool:
        console = self._channels.get(peer)
        return console is not None and console.grants is not None

    def drives_on(self, peer: str) -> bool:
        """Whether the welcomed console on ``peer`` may drive (and so speak on the robot)."""
        console = self._channels.get(peer)
        grants = None if console is None else console.grants
        return grants is not None and _may(grants, self.robot, "drive")

    def watchers_changed(self) -> None:
        """Tell the daemon who watches now: the welcomed consoles' subjects."""
        subjects = (console.grants.subject for console in self.consoles if console.grants)
        self.to_daemon(watchers_message(subjects))

    def audio_changed(self, state: dict[str, Any]) -> None:
        """Tell every welcomed console how the robot's audio is now."""
        self.audio_state = state
        for console in list(self.consoles):
            if console.grants is not None:
                console.send_audio()

    def telemetry(self, text: str) -> None:
        """Pass one telemetry message, as the daemon encoded it, to every welcomed console."""
        for console in list(self.consoles):
            if console.grants is not None:
                console.send_text(text)


class Console:
    """One console's data channel."""

    def __init__(
        self,
        operators: Operators,
        channel: Any,
        peer: str = "",
        round_trip_ms: Callable[[], float | None] = lambda: None,
    ) -> None:
        self.operators = operators
        self.channel = channel
        self.peer = peer
        self.round_trip_ms = round_trip_ms
        self.grants: access.Grants | None = None  # once welcomed
        self.expires = 0.0
        self.state = "new"  # then "verifying", "welcomed" or "denied"
        self.bucket = TokenBucket(COMMAND_RATE, COMMAND_BURST, operators.clock)
        self._refusals = LogBudget(REFUSAL_LOG_S, operators.clock)
        self._tasks: set[asyncio.Task[None]] = set()
        self._expiry: asyncio.TimerHandle | None = None
        # A channel that is not welcomed in time is closed: it proves nothing by lingering.
        self._hello_due = asyncio.get_running_loop().call_later(HELLO_S, self._hello_overdue)

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
        operators = self.operators
        if operators.verifier is None:
            self.deny("this robot verifies no operator tokens (its JWT_* settings are empty)")
            return
        if not isinstance(token, str):
            self.deny("the hello carries no token")
            return
        try:
            grants = await asyncio.to_thread(operators.verifier.verify, f"Bearer {token}")
            grants = admission.confine_unscoped(grants, operators.reach)
            access.check_view(grants, operators.robot)
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
        if operators.clock() >= self.expires:
            self.deny("the token has expired; sign in again")
            return
        drives = _may(grants, operators.robot, "drive")
        host = operators.host
        refused = None if host is None else host.welcomed(self.peer, grants.subject, drives)
        if refused is not None:
            self.deny(refused)
            return
        self.grants = grants
        self.state = "welcomed"
        self._expiry = asyncio.get_running_loop().call_later(
            self.expires - operators.clock(), self.deny, "the token has expired; sign in again"
        )
        log.info("console of %s welcomed", grants.subject)
        self.operators.watchers_changed()
        self.send(
            {
                "type": "welcome",
                "robot": operators.robot,
                "drive": drives,
                "admin": _may(grants, operators.robot, "clear_estop"),
            }
        )
        self.send_audio()

    def send_audio(self) -> None:
        if self.operators.audio_state is not None:
            self.send({"type": "audio", "audio": self.operators.audio_state})

    def _hello_overdue(self) -> None:
        if self.state in ("new", "verifying"):
            self.deny(f"no valid hello within {HELLO_S:g} s")

    def _command(self, text: str) -> None:
        assert self.grants is not None
        if self.operators.clock() >= self.expires:
            self.deny("the token has expired; sign in again")
            return
        within = self.bucket.take()
        text = text[:FORWARD_LIMIT]
        try:
            command = admission.admit(
                protocol.parse(text), CommandPath.DATACHANNEL, self.operators.robot, self.grants
            )
        except Refusal as exc:
            if within:
                self._refused(exc, text)
            else:
                self._flooded()
            return
        if command.action == protocol.AUDIO_ACTION and within:
            self._audio(command, text)
            return
        if within or command.action == "estop":  # a stop is never throttled away
            self.operators.to_daemon(command_message(text, self.grants, self.round_trip_ms()))
        if not within:
            self._flooded()

    def _audio(self, command: protocol.Command, text: str) -> None:
        if self.operators.audio is None:
            self._refused(protocol.ProtocolError("this robot has no audio"), text)
        else:
            self.operators.audio(command)

    def _refused(self, refusal: Refusal, text: str) -> None:
        """Answered to this console alone: nobody else sees what it tried."""
        self.send(rejection_message(refusal, protocol.command_id(text), CommandPath.DATACHANNEL))
        held = self._refusals.allow()
        if held is not None:
            assert self.grants is not None
            more = f" ({held} more since)" if held else ""
            log.info("refused a command of %s: %s%s", self.grants.subject, refusal.reason, more)

    def _flooded(self) -> None:
        log.warning("console of %s sent commands too fast: closing it", self.peer)
        self.deny(f"more than {COMMAND_RATE:g} commands a second")

    def send(self, message: dict[str, Any]) -> None:
        self.send_text(json.dumps(message, separators=(",", ":")))

    def send_text(self, text: str) -> None:
        if self.channel.readyState != "open":
            return
        if self.channel.bufferedAmount > MAX_BUFFERED_BYTES:
            return
        self.channel.send(text)

    def deny(self, reason: str) -> None:
        if self.state == "denied":
            return
        self.send({"type": "denied", "reason": reason})
        self._end("denied")
        asyncio.get_running_loop().call_later(CLOSE_DELAY_S, self.channel.close)

    def closed(self) -> None:
        """The channel closed (either end closed it)."""
        self._end("closed")

    def _end(self, state: str) -> None:
        was = self.grants
        self.state, self.grants = state, None
        if self._expiry is not None:
            self._expiry.cancel()
        self._hello_due.cancel()
        self.operators.detach(self)
        if was is not None:
            self.operators.watchers_changed()
        if was is not None and self.operators.host is not None:
            last = not self.operators.welcomed_on(self.peer)
            self.operators.host.farewell(self.peer, was.subject, last)


def _may(grants: access.Grants, robot: str, action: str) -> bool:
    try:
        access.check_command(grants, robot, action)
    except access.AccessDenied:
        return False
    return True


def _expiry(token: str) -> float:
    """When a verified token stops being good: its ``exp`` (which the verifier required). The
    verifier's leeway is for clocks that disagree at the hello, not for the session."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return float(claims["exp"])


def verifier_from(settings: Mapping[str, str]) -> verify.Verifier | None:
    """The verifier the robot's ``JWT_*`` settings describe (the producer's environment),
    or None when they are empty."""
    if not settings.get("JWT_ISSUER"):
        return None
    return verify.from_environment(settings)

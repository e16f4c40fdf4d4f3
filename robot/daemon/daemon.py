"""The robot daemon: IoT link in, validated commands to the controller, telemetry out.

Consoles' commands come in a second way, over a WebRTC data channel that the video producer
holds: the producer verifies the operator's token and passes each command on with what the
token grants (robot/producer/consoles.py), over its control socket; the daemon checks those
grants as the publish Lambda does, and sends every telemetry message back the same way.

Every way out of ``serve`` (SIGINT, SIGTERM, a lost link, an exception) passes through
the ``finally`` that stops the wheels and closes the board. SIGKILL cannot be caught:
the systemd unit runs ``robot stop-motors`` after the daemon for that, and its watchdog
(robot/daemon/systemd.py) kills a daemon whose event loop is stuck.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import time

import drivers
from robot.contracts import access, protocol
from robot.contracts.telemetry import encode, rejection_message, state_message
from robot.daemon.config import Config
from robot.daemon.controller import MotionController, MotionState, Refused
from robot.daemon.estop import EStop
from robot.daemon.freshness import FreshnessGate, StaleCommand
from robot.daemon.link import IoTLink, LinkStatus, Message
from robot.daemon.odometry import Odometry
from robot.daemon.producers import supervise
from robot.daemon.supervisor import MediaStatus, MediaSupervisor
from robot.daemon.systemd import Notifier

log = logging.getLogger(__name__)

# Safe whatever their age: a late stop still stops.
_ALWAYS_FRESH = ("stop", "estop")


class Daemon:
    def __init__(
        self,
        config: Config,
        driver: drivers.MotorDriver,
        link: IoTLink,
        estop: EStop | None = None,
        gate: FreshnessGate | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.config = config
        self.driver = driver
        self.link = link
        self.gate = gate or FreshnessGate()
        self.notifier = notifier or Notifier(None, None)
        self.odometry = Odometry(config.wheel_separation, config.top_speed, time.monotonic())
        self.controller = MotionController(
            driver,
            config.default_speed,
            config.command_ttl_ms,
            on_change=self._changed,
            limits=config.limits,
            estop=estop or EStop(config.state_dir),
        )
        self.video: dict | None = None  # the media supervisor's status, once it runs
        self.media: MediaSupervisor | None = None  # its control socket carries telemetry

    async def serve(self) -> None:
        """Handle commands until cancelled."""
        reporter = asyncio.create_task(self._report_periodically())
        try:
            with self.link.delivering(self.handle):
                async for event in self.link.events():
                    if isinstance(event, Message):  # came before the handler was set
                        self.handle(event.payload)
                    elif isinstance(event, LinkStatus):
                        self._link_changed(event.online)
        finally:
            reporter.cancel()

    def handle(self, payload: bytes | str, grants: access.Grants | None = None) -> None:
        """Apply one command payload, or report why it was rejected. Never raises on bad input.

        With ``grants`` the command came from a console's data channel, with what the
        operator's token grants: it must be one they may send to this robot (as the publish
        Lambda checks), and it is stamped with their subject as ``operator``."""
        latched = self.controller.latched
        path = None if grants is None else "datachannel"
        try:
            command = protocol.parse(payload)
            if grants is not None:
                command = self._from_console(command, grants)
            if command.action not in _ALWAYS_FRESH:
                self.gate.check(command, self.controller.ttl_ms(command))
            self.controller.apply(command, path)
        except (protocol.ProtocolError, StaleCommand, Refused, access.AccessDenied) as exc:
            reason = getattr(exc, "reason", str(exc))
            log.info("rejected command: %s", reason)
            self._send(rejection_message(reason, _command_id(payload), path))
            return
        if self.controller.latched != latched:
            self.announce()

    def _from_console(self, command: protocol.Command, grants: access.Grants) -> protocol.Command:
        protocol.check_sender_fields(command)
        access.check_command(grants, self.config.thing_name, command.action)
        return dataclasses.replace(command, operator=protocol.operator_from(grants.subject))

    def console_message(self, message: dict) -> None:
        """A message from the video producer's control socket: a console's command."""
        payload = message.get("payload")
        if message.get("type") != "command" or not isinstance(payload, str):
            log.warning("control socket: not a command: %.120r", message)
            return
        self.handle(payload, access.Grants.from_context(message.get("grants")))

    def announce(self, *lines: str) -> None:
        """Tell systemd how the robot is (``systemctl status robot`` shows it), with
        ``lines`` (such as READY=1) in the same message."""
        link = "online" if self.link.online else "offline"
        estop = "latched" if self.controller.latched else "clear"
        self.notifier.notify(*lines, f"STATUS=link {link}, e-stop {estop}")

    def _link_changed(self, online: bool) -> None:
        if not online:
            # Commands can no longer reach us, so nothing may keep the wheels turning.
            log.warning("link lost: stopping the wheels")
            self.controller.stop("link-lost")
        else:
            log.info("link up")
            self.report()
        self.announce()

    def report(self) -> None:
        """Publish the current state now."""
        self._report(self.controller.state)

    def _changed(self, state: MotionState) -> None:
        self.odometry.outputs_changed(state.left, state.right, time.monotonic())
        # The wheels have moved; the report waits until the command's handling is done.
        asyncio.get_running_loop().call_soon(self._report, state)

    def _report(self, state: MotionState) -> None:
        now = time.monotonic()
        travel = self.driver.wheel_travel()
        if travel is not None:
            self.odometry.encoders(travel, now)
        assert self.controller.estop is not None
        self._send(
            state_message(
                state,
                self.link.online,
                self.config.motor_driver,
                {
                    "estop": self.controller.estop.status(),
                    "odometry": self.odometry.report(now),
                    "clock": "synced" if self.gate.synced else "unsynced",
                    **({"video": self.video} if self.video is not None else {}),
                    **self.driver.status(),
                },
            )
        )

    def video_changed(self, status: MediaStatus) -> None:
        """Report the video producer's state as it changes (called on the loop)."""
        self.video = status.as_dict()
        self.report()

    def _send(self, message: dict) -> None:
        encoded = encode(message)
        self.link.publish(self.config.telemetry_topic, encoded)
        if self.media is not None:
            self.media.send_control(encoded)  # to the consoles; never waits

    async def _report_periodically(self) -> None:
        interval = self.config.telemetry_interval_ms / 1000
        while True:
            await asyncio.sleep(interval)
            self.report()


def _command_id(payload: bytes | str) -> str | None:
    """The sender's id of a rejected command, when the payload can be read, to echo back
    (read as strictly as a command: a payload the protocol cannot decode has no id)."""
    with contextlib.suppress(protocol.ProtocolError):
        data = protocol.decode(payload)
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            return data["id"][: protocol.MAX_ID_LENGTH]
    return None


async def run(config: Config, notifier: Notifier | None = None) -> None:
    """Run the daemon until SIGINT or SIGTERM; the wheels are stopped on every way out."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, main.cancel)
    notifier = notifier or Notifier.from_environ()
    watchdog = asyncio.create_task(notifier.keep_alive())
    last_will = encode({"type": "state", "link": "offline", "reason": "link-lost"})
    try:
        # Leaving this block closes the board, and closing stops it, whatever the way out.
        with drivers.load(config.motor_driver, config.board_options) as driver:
            driver.stop()  # a board may still hold what an earlier process left on it
            # On this loop, like the systemd watchdog: a blocked loop stops a serial
            # controller's heartbeat, and its own watchdog stops the wheels.
            board_keep_alive = asyncio.create_task(driver.keep_alive())
            try:
                async with IoTLink(config, last_will=last_will) as link:
                    daemon = Daemon(config, driver, link, notifier=notifier)
                    daemon.report()
                    daemon.announce("READY=1")
                    # Video runs beside driving, on the same loop, never in its way; at the
                    # end the wheels stop first, then the producer gets its grace period.
                    async with supervise(
                        config, daemon.video_changed, on_control=daemon.console_message
                    ) as media:
                        daemon.media = media
                        try:
                            await daemon.serve()
                        finally:
                            daemon.controller.stop("shutdown")
                            await asyncio.sleep(0)  # its report goes out while the link is up
            except asyncio.CancelledError:
                log.info("stopped")
            finally:
                board_keep_alive.cancel()
    finally:
        notifier.notify("STOPPING=1")
        watchdog.cancel()
        notifier.close()

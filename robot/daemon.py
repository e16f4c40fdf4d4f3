"""The robot daemon: IoT link in, validated commands to the controller, telemetry out.

Every way out of ``serve`` (SIGINT, SIGTERM, a lost link, an exception) passes through
the ``finally`` that stops the wheels and closes the board. SIGKILL cannot be caught:
the systemd unit runs ``robot stop-motors`` after the daemon for that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import drivers
from robot import protocol
from robot.config import Config
from robot.controller import MotionController, MotionState, StaleCommand
from robot.link import IoTLink, LinkStatus, Message
from robot.telemetry import encode, rejection_message, state_message

log = logging.getLogger(__name__)


class Daemon:
    def __init__(self, config: Config, driver: drivers.MotorDriver, link: IoTLink) -> None:
        self.config = config
        self.driver = driver
        self.link = link
        self.controller = MotionController(
            driver, config.default_speed, config.command_ttl_ms, on_change=self._report
        )

    async def serve(self) -> None:
        """Handle commands until cancelled."""
        reporter = asyncio.create_task(self._report_periodically())
        try:
            async for event in self.link.events():
                if isinstance(event, Message):
                    self.handle(event.payload)
                elif isinstance(event, LinkStatus):
                    self._link_changed(event.online)
        finally:
            reporter.cancel()

    def handle(self, payload: bytes) -> None:
        """Apply one command payload, or report why it was rejected. Never raises on bad input."""
        try:
            command = protocol.parse(payload)
            self.controller.check_fresh(command)
        except (protocol.ProtocolError, StaleCommand) as exc:
            reason = getattr(exc, "reason", str(exc))
            log.info("rejected command: %s", reason)
            self._send(rejection_message(reason, _command_id(payload)))
            return
        self.controller.apply(command)

    def _link_changed(self, online: bool) -> None:
        if not online:
            # Commands can no longer reach us, so nothing may keep the wheels turning.
            log.warning("link lost: stopping the wheels")
            self.controller.stop("link-lost")
        else:
            log.info("link up")
            self.report()

    def report(self) -> None:
        """Publish the current state now."""
        self._report(self.controller.state)

    def _report(self, state: MotionState) -> None:
        self._send(
            state_message(state, self.link.online, self.config.motor_driver, self.driver.status())
        )

    def _send(self, message: dict) -> None:
        self.link.publish(self.config.telemetry_topic, encode(message))

    async def _report_periodically(self) -> None:
        interval = self.config.telemetry_interval_ms / 1000
        while True:
            await asyncio.sleep(interval)
            self.report()


def _command_id(payload: bytes) -> str | None:
    """The sender's id of a rejected command, when the payload can be read, to echo back
    (read as strictly as a command: a payload the protocol cannot decode has no id)."""
    with contextlib.suppress(protocol.ProtocolError):
        data = protocol.decode(payload)
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            return data["id"][: protocol.MAX_ID_LENGTH]
    return None


async def run(config: Config) -> None:
    """Run the daemon until SIGINT or SIGTERM; the wheels are stopped on every way out."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, main.cancel)
    last_will = encode({"type": "state", "link": "offline", "reason": "link-lost"})
    # Leaving this block closes the board, and closing stops it, whatever the way out.
    with drivers.load(config.motor_driver, config.board_options) as driver:
        driver.stop()  # a board may still hold what an earlier process left on it
        try:
            async with IoTLink(config, last_will=last_will) as link:
                daemon = Daemon(config, driver, link)
                daemon.report()
                try:
                    await daemon.serve()
                finally:
                    daemon.controller.stop("shutdown")  # reported while the link is still up
        except asyncio.CancelledError:
            log.info("stopped")

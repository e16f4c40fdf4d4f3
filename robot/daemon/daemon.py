"""The robot daemon: commands in from its two links, to the controller; telemetry out.

Commands come over MQTT (robot/daemon/mqtt_link.py) and from consoles' data channels, which
the video producer holds and passes on over its control socket (robot/daemon/console_link.py).
The daemon reads both links the same way; each command is parsed, admitted by the one rule
(robot/contracts/admission.py), checked against the drive lease (robot/daemon/session.py),
checked for freshness and applied, and every telemetry message goes out on both links.

Every way out of ``run`` passes through the ``finally`` that stops the wheels and closes the
board (the rules: docs/protocol.md, "Every way the wheels stop").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Iterator
from typing import Any

import drivers
from drivers import distance
from robot.contracts import admission, protocol
from robot.contracts.access import Grants
from robot.contracts.admission import CommandPath
from robot.contracts.ratelimit import LogBudget
from robot.contracts.refusals import Refusal
from robot.contracts.telemetry import MotionReason, encode, rejection_message, state_message
from robot.daemon import obstacle_guard
from robot.daemon.battery import Gauge, OpenedOnRead
from robot.daemon.battery_cap import BatteryCap
from robot.daemon.command_delay import CommandDelay
from robot.daemon.config import Config
from robot.daemon.console_link import ConsoleLink
from robot.daemon.controller import MotionController, MotionState
from robot.daemon.estop import EStop
from robot.daemon.freshness import FreshnessGate
from robot.daemon.health import HealthSource, load_source
from robot.daemon.health_report import HealthReport
from robot.daemon.limiters import Limiter
from robot.daemon.link_limits import LinkLimiter, LinkReading, max_speed
from robot.daemon.links import CommandLink, Delivery, Watchers
from robot.daemon.mqtt_link import IoTLink
from robot.daemon.odometry import Odometry
from robot.daemon.producers import supervise
from robot.daemon.session import Session, operator_of
from robot.daemon.supervisor import MediaStatus
from robot.daemon.systemd import Notifier

log = logging.getLogger(__name__)

# Safe whatever their age: a late stop still stops.
_ALWAYS_FRESH = ("stop", "estop")
# At most one "rejected command" log line this often: a flood of bad commands must not fill
# the journal (each rejection still goes out in telemetry).
REJECTION_LOG_S = 10.0


class Daemon:
    def __init__(
        self,
        config: Config,
        driver: drivers.MotorDriver,
        link: CommandLink,
        consoles: CommandLink | None = None,
        estop: EStop | None = None,
        gate: FreshnessGate | None = None,
        notifier: Notifier | None = None,
        rejection_log: LogBudget | None = None,
        health: HealthSource | None = None,
        gauge: Gauge | None = None,
        distance_sensor: distance.DistanceSensor | None = None,
    ) -> None:
        self.config = config
        self.driver = driver
        self.link = link  # the robot's link to the cloud: its state is the telemetry's "link"
        self.links = [link] if consoles is None else [link, consoles]
        self.gate = gate or FreshnessGate()
        self.notifier = notifier or Notifier(None, None)
        self.odometry = Odometry(config.wheel_separation, config.top_speed, time.monotonic())
        self.delay = CommandDelay()
        self.link_limiter = LinkLimiter(config.link_speed_limits, self._link_reading)
        guard = config.obstacle_guard
        self.guard = (
            None if guard is None else obstacle_guard.ObstacleGuard(guard.slow_m, guard.stop_m)
        )
        self.distance_sensor = distance_sensor
        limiters: list[Limiter] = [self.link_limiter] if config.link_speed_limits else []
        if self.guard is not None:
            limiters.append(self.guard)
        self.battery_cap = BatteryCap()
        limiters.append(self.battery_cap)
        self.controller = MotionController(
            driver,
            config.default_speed,
            config.command_ttl_ms,
            on_change=self._changed,
            limits=config.limits,
            estop=estop or EStop(config.state_dir),
            limiters=limiters,
        )
        self.health = HealthReport(health, gauge, self.battery_cap, self.delay, self._send)
        self.session = Session(config.drive_lease_s, config.handover_timeout_s)
        self.video: dict | None = None  # the media supervisor's status, once it runs
        # The producer's audio as it says (robot/producer/audio.py), or why there is none.
        self.audio: dict | None = (
            None if config.audio_devices else {"off": "no audio devices (AUDIO_DEVICES is empty)"}
        )
        self._rejections = rejection_log or LogBudget(REJECTION_LOG_S)

    async def serve(self) -> None:
        """Handle both links' commands until cancelled; what a handler raises ends it."""
        reporter = asyncio.create_task(self._report_periodically())
        tasks = [reporter]
        if self.health.source is not None or self.health.gauge is not None:
            interval = self.config.health_interval_ms / 1000
            tasks.append(asyncio.create_task(self.health.run(interval)))
        readers = [asyncio.create_task(self._follow(link)) for link in self.links]
        if self.guard is not None and self.distance_sensor is not None:
            readers.append(
                asyncio.create_task(
                    obstacle_guard.watch(
                        self.distance_sensor,
                        self.guard,
                        self.controller.limits_changed,
                        self.controller.going_forward,
                    )
                )
            )
        try:
            done, _ = await asyncio.wait(readers, return_when=asyncio.FIRST_EXCEPTION)
            for reader in done:
                reader.result()
        finally:
            for task in tasks:
                task.cancel()
            for reader in readers:
                reader.cancel()

    async def _follow(self, link: CommandLink) -> None:
        async for event in link.events():
            if isinstance(event, Delivery):
                if event.round_trip_ms is not None:
                    self.delay.round_trip(event.round_trip_ms)
                self.handle(event.payload, event.path, event.grants)
            elif isinstance(event, Watchers):
                self.session.see(event.subjects)
                self.report()
            else:
                self._link_changed(link, event.online)

    def handle(
        self,
        payload: bytes | str,
        path: CommandPath = CommandPath.MQTT,
        grants: Grants | None = None,
    ) -> None:
        """Apply one command payload that came by ``path`` (with ``grants``, a console's), or
        report why it was refused. Never raises on bad input."""
        latched = self.controller.latched
        try:
            command = protocol.parse(payload)
            command = admission.admit(command, path, self.config.thing_name, grants)
            if command.action == protocol.AUDIO_ACTION:  # the producer keeps these to itself
                raise protocol.ProtocolError(admission.AUDIO_ELSEWHERE)
            arrived = admission.arrival_path(command, path)
            operator = operator_of(command)
            self.session.check(operator, command.action)
            if command.action not in _ALWAYS_FRESH:
                self.gate.check(command, self.controller.ttl_ms(command))
                self.delay.observe(command, arrived, self.gate.synced)
            if command.action in protocol.SESSION_ACTIONS:
                self._move_lease(operator, command)
                return
            self.controller.apply(command, arrived)
            self.session.drove(operator, command.action)
        except Refusal as exc:
            held = self._rejections.allow()
            if held is not None:
                log.info("rejected command: %s%s", exc.reason, f" ({held} more since)" * bool(held))
            # MQTT cannot tell a direct publish from the publish Lambda's before it is read.
            reported_path = None if path is CommandPath.MQTT else path
            self._send(rejection_message(exc, protocol.command_id(payload), reported_path))
            return
        if self.controller.latched != latched:
            self.announce()

    def _link_reading(self) -> LinkReading:
        """The link of the command driving the wheels: its round trip, and whether it is up."""
        # publish and mqtt both come over the robot's MQTT link
        path = CommandPath.DATACHANNEL if self.controller.path is CommandPath.DATACHANNEL else None
        link = next((link for link in self.links if link.path is path), self.link)
        return LinkReading(self.delay.round_trip_ms(), lost=not link.online)

    def _move_lease(self, operator: str, command: protocol.Command) -> None:
        driver = self.session.driver
        self.session.act(operator, command)
        moving = self.controller.state.reason is MotionReason.COMMAND
        if self.session.driver != driver and moving:
            # The wheels obey the driver who lost the lease: the new one starts from a stop.
            self.controller.stop(MotionReason.HANDOVER)
        else:
            asyncio.get_running_loop().call_soon(self.report)

    def announce(self, *lines: str) -> None:
        """Tell systemd how the robot is (``systemctl status robot`` shows it), with
        ``lines`` (such as READY=1) in the same message."""
        link = "online" if self.link.online else "offline"
        estop = "latched" if self.controller.latched else "clear"
        self.notifier.notify(*lines, f"STATUS=link {link}, e-stop {estop}")

    def _link_changed(self, link: CommandLink, online: bool) -> None:
        if not online and link.path is CommandPath.DATACHANNEL:
            self.session.see(())  # the consoles went with their link
        if online:
            log.info("%s link up", link.path)
            self.report()
        elif link is self.link:
            # Commands can no longer reach us, so nothing may keep the wheels turning.
            log.warning("link lost: stopping the wheels")
            self.controller.stop(MotionReason.LINK_LOST)
        elif self.controller.state.path is link.path:
            log.warning("%s link lost while it drove: stopping the wheels", link.path)
            self.controller.stop(MotionReason.LINK_LOST)
        self.announce()

    def report(self) -> None:
        """Publish the current state now."""
        self._report(self.controller.state)

    def _changed(self, state: MotionState) -> None:
        self.odometry.outputs_changed(state.left, state.right, time.monotonic())
        # The wheels have moved; the report waits until the command's handling is done.
        asyncio.get_running_loop().call_soon(self._report, state)

    def _report(self, state: MotionState) -> None:
        if state is not self.controller.state:
            # Replaced in the same loop turn (a forward, then an estop): the e-stop read below
            # is today's, so this message would mix two moments; the newer state is queued.
            return
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
                    "session": self.session.report(time.time()),
                    **({"video": self.video} if self.video is not None else {}),
                    **self._limits_report(),
                    **({"audio": self.audio} if self.audio is not None else {}),
                    **self.driver.status(),
                },
            )
        )

    def _limits_report(self) -> dict:
        """The limiters' inputs, for the console: the link's round trip and the speed it
        allows; the distance ahead."""
        report: dict = {}
        if self.link_limiter.table:
            reading = self._link_reading()
            measured = reading.round_trip_ms
            report["link_speed"] = {
                "round_trip_ms": None if measured is None else round(measured, 1),
                "max_speed": max_speed(self.link_limiter.table, reading),
            }
        if self.guard is not None:
            report["obstacle"] = self.guard.report()
        return report

    def video_changed(self, status: MediaStatus) -> None:
        """Report the video producer's state as it changes (called on the loop)."""
        self.video = status.as_dict()
        audio = self.video.pop("audio")
        if audio is not None:
            self.audio = audio
        self.report()

    def _send(self, message: dict) -> None:
        encoded = encode(message)
        for link in self.links:
            link.send(encoded)  # never waits

    async def _report_periodically(self) -> None:
        interval = self.config.telemetry_interval_ms / 1000
        while True:
            await asyncio.sleep(interval)
            self.report()


def health_sources(config: Config, driver: drivers.MotorDriver) -> dict[str, Any]:
    """The health source and battery gauge config.json names, as Daemon's arguments."""
    health = None if config.health_source == "off" else load_source(config.health_source)
    gauge = None if config.battery is None else OpenedOnRead(config.battery, driver)
    return {"health": health, "gauge": gauge}


@contextlib.contextmanager
def open_distance_sensor(config: Config) -> Iterator[distance.DistanceSensor | None]:
    """The obstacle guard's sensor, closed on the way out; None without a guard. A sensor that
    does not start is said, and the guard stays blind: no forward motion, turning and backing
    away still allowed, so the robot can be driven home and looked at."""
    guard = config.obstacle_guard
    if guard is None:
        yield None
        return
    try:
        sensor = distance.load(guard.sensor, guard.options)
    except drivers.DriverError as exc:
        log.error("obstacle guard: the distance sensor did not start (%s); forward refused", exc)
        yield None
        return
    with sensor:
        yield sensor


async def run(config: Config, notifier: Notifier | None = None) -> None:
    """Run the daemon until SIGINT or SIGTERM; the wheels are stopped on every way out."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, main.cancel)
    notifier = notifier or Notifier.from_environ()
    watchdog = asyncio.create_task(notifier.keep_alive())
    last_will = encode({"type": "state", "link": "offline", "reason": MotionReason.LINK_LOST})
    try:
        # Leaving this block closes the board, and closing stops it, whatever the way out.
        with (
            drivers.load(config.motor_driver, config.board_options) as driver,
            open_distance_sensor(config) as sensor,
        ):
            driver.stop()  # a board may still hold what an earlier process left on it
            # On this loop, like the systemd watchdog: a blocked loop stops a serial
            # controller's heartbeat, and its own watchdog stops the wheels.
            board_keep_alive = asyncio.create_task(driver.keep_alive())
            try:
                sources = health_sources(config, driver)
                async with IoTLink(config, last_will=last_will) as link, ConsoleLink() as consoles:
                    daemon = Daemon(
                        config,
                        driver,
                        link,
                        consoles,
                        notifier=notifier,
                        distance_sensor=sensor,
                        **sources,
                    )
                    daemon.report()
                    daemon.announce("READY=1")
                    # Video runs beside driving, on the same loop, never in its way; at the
                    # end the wheels stop first, then the producer gets its grace period.
                    async with supervise(config, daemon.video_changed, control=consoles):
                        try:
                            await daemon.serve()
                        finally:
                            daemon.controller.stop(MotionReason.SHUTDOWN)
                            await asyncio.sleep(0)  # its report goes out while the link is up
            except asyncio.CancelledError:
                log.info("stopped")
            finally:
                board_keep_alive.cancel()
    finally:
        notifier.notify("STOPPING=1")
        watchdog.cancel()
        notifier.close()

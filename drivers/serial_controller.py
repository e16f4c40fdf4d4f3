"""A motor controller on a serial port (an Arduino, a Pico, a RoboClaw-style board...).

The Pi sends lines of docs/serial-protocol.md with pyserial: ``M <a> <b> [<ttl>]`` sets the two
channels in per mille, ``S`` stops, ``H`` is a heartbeat, ``E`` reads the wheel encoders; the
controller answers each line ``OK`` or ``ERR <reason>``. On connecting the Pi asks ``V``: a
version 2 or later controller answers with its version, and then every line both ways carries
a checksum; a version 1 controller answers ``ERR unknown`` and is spoken to without. To a
version 3 controller every ``M`` carries its time to live, which the controller enforces.

The heartbeat (``keep_alive``) runs on the daemon's event loop: a loop that is blocked stops
sending it, and the controller's own watchdog stops the wheels. It also reconnects (in a
worker thread, as opening a port blocks) when the device comes back: the wheels then stay
stopped until the next drive().
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drivers import serial_protocol as protocol
from drivers.base import Board, DriverError, import_library
from drivers.channel_board import ChannelBoard
from drivers.options import BoardOptions, Option, Requirement
from drivers.wiring import Wiring, read_wiring, wiring_options

log = logging.getLogger(__name__)

CHANNELS = ("a", "b")
STOP = b"S"
HEARTBEAT = b"H"
BAUDRATES = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
TTL_VERSION = 3  # the first protocol version with TTLs on M and the encoder report E
# option: (default, low, high) in milliseconds, and what it is
TIMES = {
    "heartbeat_ms": (200, 20, 5000, "how often the Pi proves it is alive"),
    "reply_timeout_ms": (250, 10, 5000, "how long to wait for each reply"),
    "connect_timeout_ms": (
        3000,
        100,
        60000,
        "how long to wait for the controller after opening the port; covers an Arduino's "
        "reset on open",
    ),
}


@dataclass(frozen=True)
class Settings:
    wiring: Wiring
    port: str = "/dev/ttyACM0"
    baudrate: int = 115200
    heartbeat_s: float = 0.2
    reply_timeout_s: float = 0.25
    connect_timeout_s: float = 3.0
    encoder_counts_per_metre: float | None = None  # None: no encoders wired


class SerialController(ChannelBoard):
    name = "serial"

    def __init__(self, serial_module: Any, settings: Settings) -> None:
        super().__init__(settings.wiring)
        self._serial = serial_module
        self.settings = settings
        # One line and its reply at a time: the loop and a reconnecting worker share the port.
        self._lock = threading.Lock()
        self._health: dict[str, Any] = {"reconnects": 0, "last_error": None}
        # Its handshake stops the wheels; the version says what the controller understands.
        self._port, self._version = self._connect()
        if settings.encoder_counts_per_metre is not None and self._version < TTL_VERSION:
            self._port.close()
            raise DriverError(
                f'motor driver "serial": MOTOR_OPTIONS.serial.encoder_counts_per_metre is set '
                f"but the controller on {settings.port} speaks protocol version "
                f"{self._version}, without encoder reports (version {TTL_VERSION}); update its "
                "firmware or remove the option"
            )
        self._last_sent = time.monotonic()
        self._counted: tuple[int, int] | None = None  # the encoder counts last read
        self._travel = [0, 0]  # counts each channel's wheel has turned since the driver started

    def drive(self, left: float, right: float, ttl_s: float | None = None) -> None:
        if self._port is None and not self.closed:
            # Nothing to stop: without the Pi the controller's watchdog has stopped the wheels.
            raise self._not_connected()
        super().drive(left, right, ttl_s)

    def _apply(self, outputs: Mapping[str, float], ttl_s: float | None) -> None:
        ttl_s = ttl_s if self._version >= TTL_VERSION else None
        self._command(protocol.drive_command(outputs["a"], outputs["b"], ttl_s))

    def _halt(self) -> None:
        if self._port is None:
            # Unplugged or silent: the controller's watchdog has stopped the wheels.
            log.info("serial: no controller to stop; its watchdog has stopped the wheels")
            return
        self._command(STOP)

    def _release(self) -> None:
        with self._lock:
            if self._port is not None:
                self._port.close()
                self._port = None

    def status(self) -> dict[str, Any]:
        return {
            "connected": self._port is not None,
            "port": self.settings.port,
            "protocol": self._version,
            **self._health,
        }

    def wheel_travel(self) -> tuple[float, float] | None:
        per_metre = self.settings.encoder_counts_per_metre
        if per_metre is None:
            return None
        try:
            counts = protocol.parse_counts(self._command(protocol.ENCODERS))
        except (DriverError, ValueError) as exc:
            log.warning("serial: no encoder report (%s); travel as last read", exc)
        else:
            if self._counted is not None:  # None after connecting: this reading is the base
                for channel in (0, 1):
                    self._travel[channel] += counts[channel] - self._counted[channel]
            self._counted = counts
        wiring = self.wiring

        def metres(channel: str, inverted: bool) -> float:
            travel = self._travel[CHANNELS.index(channel)] / per_metre
            return -travel if inverted else travel

        return metres(wiring.left, wiring.invert_left), metres(wiring.right, wiring.invert_right)

    async def keep_alive(self) -> None:
        interval = self.settings.heartbeat_s
        while not self.closed:
            await asyncio.sleep(interval)
            if self._port is None:
                await asyncio.to_thread(self._reconnect)
            elif time.monotonic() - self._last_sent >= interval / 2:
                try:
                    self._command(HEARTBEAT)
                except DriverError as exc:
                    log.warning("serial: heartbeat failed: %s", exc)

    # --- one line, one reply ---------------------------------------------------------------

    def _command(self, line: bytes) -> bytes:
        """Send ``line``; the controller's OK reply (with any data), or DriverError."""
        with self._lock:
            port = self._port
            if port is None:
                raise self._not_connected()
            try:
                reply = self._transact(port, line)
            except (OSError, ValueError) as exc:  # pyserial's errors are OSErrors
                self._drop(exc)
                raise DriverError(
                    f"lost the motor controller at {self.settings.port} ({exc}); reconnecting"
                ) from exc
            self._last_sent = time.monotonic()
        reason = protocol.parse_reply(reply)
        if reason is not None:
            raise DriverError(f"the motor controller refused {line.decode().strip()!r}: {reason}")
        return reply

    def _transact(self, port: Any, command: bytes) -> bytes:
        checked = self._version >= 2
        port.write(protocol.line(command, checked))
        reply = port.read_until(b"\n")
        if not reply.endswith(b"\n"):
            raise TimeoutError(f"no reply within {self.settings.reply_timeout_s * 1000:g} ms")
        # a damaged reply (ChecksumError, a ValueError) counts as a lost one
        text = protocol.reply_text(reply, checked)
        protocol.parse_reply(text)  # a line outside the protocol is a ValueError here too
        return text

    def _not_connected(self) -> DriverError:
        return DriverError(
            f'motor driver "serial": the motor controller at '
            f"{self.settings.port} is not connected (reconnecting); its watchdog "
            "stops the wheels"
        )

    def _drop(self, exc: Exception) -> None:
        log.warning("serial: lost the motor controller at %s: %s", self.settings.port, exc)
        self._health["last_error"] = str(exc)
        with contextlib.suppress(OSError):  # already gone with the device
            self._port.close()
        self._port = None

    # --- connecting ----------------------------------------------------------------------

    def _connect(self) -> tuple[Any, int]:
        """An open port whose controller has answered ``S`` (so the wheels are stopped), and
        the protocol version it speaks (1 when it does not know ``V``)."""
        settings = self.settings
        try:
            port = self._serial.Serial(
                settings.port,
                settings.baudrate,
                timeout=settings.reply_timeout_s,
                write_timeout=settings.reply_timeout_s,
                exclusive=True,
            )
        except (OSError, ValueError) as exc:
            raise DriverError(
                f'motor driver "serial": cannot open {settings.port} ({exc}); check the '
                "controller is plugged in, MOTOR_OPTIONS.serial.port names it (a "
                "/dev/serial/by-id/ path survives re-plugging), the user is in the dialout "
                "group and no other process holds the port"
            ) from exc
        heard = b""
        deadline = time.monotonic() + settings.connect_timeout_s
        # Retried: a board that resets when the port opens (an Arduino) misses lines while
        # its bootloader runs.
        while True:
            try:
                identity = protocol.identify(port)
                version = 1 if identity is None else identity.protocol
                port.write(protocol.line(STOP, version >= 2))
                heard = port.read_until(b"\n")
                if (
                    heard.endswith(b"\n")
                    and protocol.parse_reply(protocol.reply_text(heard, version >= 2)) is None
                ):
                    return port, version
            except (OSError, ValueError):
                pass  # retried until the deadline; the message below says what was heard
            if time.monotonic() >= deadline:
                port.close()
                raise DriverError(
                    f'motor driver "serial": no OK from a motor controller on {settings.port} '
                    f"within {settings.connect_timeout_s:g} s (last heard: {heard!r}); check the "
                    f"baud rate ({settings.baudrate}) and that its firmware speaks "
                    "docs/serial-protocol.md"
                )

    def _reconnect(self) -> None:
        # Runs in a worker thread: opening the port and the handshake block.
        try:
            port, version = self._connect()
        except DriverError as exc:
            self._health["last_error"] = str(exc)
            log.debug("serial: still no controller: %s", exc)
            return
        with self._lock:
            if self.closed:
                port.close()
                return
            self._port, self._version = port, version
            self._counted = None  # a controller that reset counts from zero again
            self._last_sent = time.monotonic()
            self._health["reconnects"] += 1
        log.warning(
            "serial: motor controller back on %s; wheels stopped until the next drive",
            self.settings.port,
        )


def _settings(options: dict[str, Any]) -> Settings:
    opts = BoardOptions("serial", options)
    wiring = read_wiring(opts, CHANNELS)
    port = opts.get("port", Settings.port, str)
    baudrate = opts.get("baudrate", Settings.baudrate, int, choices=BAUDRATES)
    seconds = {}
    for key, (default, low, high, _) in TIMES.items():
        value = opts.get(key, default, int)
        if not low <= value <= high:
            opts.fail(key, value, f"must be from {low} to {high} (milliseconds)")
            value = default
        seconds[key] = value / 1000
    per_metre = opts.get("encoder_counts_per_metre", None, (int, float, type(None)))
    if per_metre is not None and not per_metre > 0:
        opts.fail("encoder_counts_per_metre", per_metre, "must be above 0 (or null: no encoders)")
        per_metre = None
    opts.done()
    return Settings(
        wiring,
        port,
        baudrate,
        seconds["heartbeat_ms"],
        seconds["reply_timeout_ms"],
        seconds["connect_timeout_ms"],
        per_metre,
    )


def check_options(options: dict[str, Any]) -> None:
    _settings(options)


def create(options: dict[str, Any]) -> SerialController:
    settings = _settings(options)
    return SerialController(importlib.import_module("serial"), settings)


def probe(options: Mapping[str, Any]) -> str:
    """Who answers on the port (``V``), without driving; the port must be free."""
    settings = _settings(dict(options))
    serial = import_library("serial", "serial", "pip install 'telepresence-robot[serial]'")
    try:
        port = serial.Serial(
            settings.port, settings.baudrate, timeout=settings.reply_timeout_s, exclusive=True
        )
    except (OSError, ValueError) as exc:
        raise DriverError(
            f"cannot open {settings.port} ({exc}): is the controller plugged in, the user in "
            "the dialout group, and the port free (stop the robot service first)?"
        ) from exc
    deadline = time.monotonic() + settings.connect_timeout_s
    with port:
        while True:  # retried: an Arduino resets when the port opens
            try:
                identity = protocol.identify(port)
                break
            except (OSError, ValueError) as exc:
                if time.monotonic() >= deadline:
                    raise DriverError(
                        f"nothing on {settings.port} answers V ({exc}): check the baud rate "
                        f"({settings.baudrate}) and that the firmware speaks "
                        "docs/serial-protocol.md"
                    ) from exc
    if identity is None:
        return f"a motor controller speaking protocol version 1 on {settings.port}"
    return f"{identity.firmware} (protocol {identity.protocol}) on {settings.port}"


BOARD = Board(
    name="serial",
    check_options=check_options,
    create=create,
    requires=(Requirement(module="serial", pip="pyserial", apt="python3-serial", extra="serial"),),
    probe=probe,
    options=(
        Option(
            "port",
            Settings.port,
            "the device; prefer its `/dev/serial/by-id/…` path, which survives re-plugging",
        ),
        Option(
            "baudrate",
            Settings.baudrate,
            ", ".join(str(rate) for rate in BAUDRATES[:-1]) + f" or {BAUDRATES[-1]}",
        ),
        *(
            Option(key, default, f"{meaning} ({low}..{high})")
            for key, (default, low, high, meaning) in TIMES.items()
        ),
        *wiring_options(CHANNELS, "controller channel"),
        Option(
            "encoder_counts_per_metre",
            None,
            "wheel encoders wired to the controller: counts per metre of travel (counts per "
            "revolution / wheel circumference); telemetry's odometry is then `measured`. "
            f"Needs protocol version {TTL_VERSION}",
        ),
    ),
)

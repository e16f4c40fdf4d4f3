"""A motor controller on a serial port (an Arduino, a Pico, a RoboClaw-style board...).

The Pi sends lines of docs/serial-protocol.md with pyserial: ``M <a> <b>`` sets the two
channels in per mille, ``S`` stops, ``H`` is a heartbeat; the controller answers each line
``OK`` or ``ERR <reason>``. On connecting the Pi asks ``V``: a version 2 controller answers
with its version, and then every line both ways carries a checksum; a version 1 controller
answers ``ERR unknown`` and is spoken to without.

A background thread sends the heartbeat whenever the Pi has been quiet, so the controller's
own watchdog stops the wheels only when the Pi (or the cable) really is gone, and reconnects
when the device comes back: the wheels then stay stopped until the next drive().
"""

from __future__ import annotations

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
from drivers.options import BoardOptions, Requirement
from drivers.wiring import Wiring, read_wiring

log = logging.getLogger(__name__)

CHANNELS = ("a", "b")
STOP = b"S"
HEARTBEAT = b"H"
BAUDRATES = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)


@dataclass(frozen=True)
class Settings:
    wiring: Wiring
    port: str = "/dev/ttyACM0"
    baudrate: int = 115200
    heartbeat_s: float = 0.2
    reply_timeout_s: float = 0.25
    connect_timeout_s: float = 3.0


class SerialController(ChannelBoard):
    name = "serial"

    def __init__(self, serial_module: Any, settings: Settings) -> None:
        super().__init__(settings.wiring)
        self._serial = serial_module
        self.settings = settings
        self._lock = threading.Lock()  # one line and its reply at a time
        self._health: dict[str, Any] = {"reconnects": 0, "last_error": None}
        # Its handshake stops the wheels; _checked: the controller speaks version 2 (checksums).
        self._port, self._checked = self._connect()
        self._last_sent = time.monotonic()
        self._closing = threading.Event()
        self._thread = threading.Thread(
            target=self._keep_alive, name="serial-heartbeat", daemon=True
        )
        self._thread.start()

    def drive(self, left: float, right: float) -> None:
        if self._port is None and not self.closed:
            # Nothing to stop: without the Pi the controller's watchdog has stopped the wheels.
            raise self._not_connected()
        super().drive(left, right)

    def _apply(self, outputs: Mapping[str, float]) -> None:
        self._command(protocol.drive_command(outputs["a"], outputs["b"]))

    def _halt(self) -> None:
        if self._port is None:
            # Unplugged or silent: the controller's watchdog has stopped the wheels.
            log.info("serial: no controller to stop; its watchdog has stopped the wheels")
            return
        self._command(STOP)

    def _release(self) -> None:
        self._closing.set()
        self._thread.join(timeout=self.settings.connect_timeout_s + 1)
        with self._lock:
            if self._port is not None:
                self._port.close()
                self._port = None

    def status(self) -> dict[str, Any]:
        return {"connected": self._port is not None, "port": self.settings.port, **self._health}

    # --- one line, one reply ---------------------------------------------------------------

    def _command(self, line: bytes) -> None:
        with self._lock:
            port = self._port
            if port is None:
                raise self._not_connected()
            try:
                reason = self._transact(port, line)
            except (OSError, ValueError) as exc:  # pyserial's errors are OSErrors
                self._drop(exc)
                raise DriverError(
                    f"lost the motor controller at {self.settings.port} ({exc}); reconnecting"
                ) from exc
            self._last_sent = time.monotonic()
        if reason is not None:
            raise DriverError(f"the motor controller refused {line.decode().strip()!r}: {reason}")

    def _transact(self, port: Any, command: bytes) -> str | None:
        port.write(protocol.line(command, self._checked))
        reply = port.read_until(b"\n")
        if not reply.endswith(b"\n"):
            raise TimeoutError(f"no reply within {self.settings.reply_timeout_s * 1000:g} ms")
        # a damaged reply (ChecksumError, a ValueError) counts as a lost one
        return protocol.parse_reply(protocol.reply_text(reply, self._checked))

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

    def _connect(self) -> tuple[Any, bool]:
        """An open port whose controller has answered ``S`` (so the wheels are stopped), and
        whether it speaks version 2 of the protocol (it answered ``V``)."""
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
                checked = protocol.identify(port) is not None
                port.write(protocol.line(STOP, checked))
                heard = port.read_until(b"\n")
                if (
                    heard.endswith(b"\n")
                    and protocol.parse_reply(protocol.reply_text(heard, checked)) is None
                ):
                    return port, checked
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

    def _keep_alive(self) -> None:
        interval = self.settings.heartbeat_s
        while not self._closing.wait(interval):
            if self._port is None:
                self._reconnect()
            elif time.monotonic() - self._last_sent >= interval / 2:
                try:
                    self._command(HEARTBEAT)
                except DriverError as exc:
                    log.warning("serial: heartbeat failed: %s", exc)

    def _reconnect(self) -> None:
        try:
            port, checked = self._connect()
        except DriverError as exc:
            self._health["last_error"] = str(exc)
            log.debug("serial: still no controller: %s", exc)
            return
        with self._lock:
            if self._closing.is_set():
                port.close()
                return
            self._port, self._checked = port, checked
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
    times = {
        # option: (default, low, high) in milliseconds
        "heartbeat_ms": (200, 20, 5000),
        "reply_timeout_ms": (250, 10, 5000),
        "connect_timeout_ms": (3000, 100, 60000),
    }
    seconds = {}
    for key, (default, low, high) in times.items():
        value = opts.get(key, default, int)
        if not low <= value <= high:
            opts.fail(key, value, f"must be from {low} to {high} (milliseconds)")
            value = default
        seconds[key] = value / 1000
    opts.done()
    return Settings(
        wiring,
        port,
        baudrate,
        seconds["heartbeat_ms"],
        seconds["reply_timeout_ms"],
        seconds["connect_timeout_ms"],
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
)

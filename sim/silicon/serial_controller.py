"""A motor controller's firmware (docs/serial-protocol.md), on a pseudo-terminal.

The controller side of the protocol written as firmware would be, independently of the
Pi's side in drivers/serial_controller.py, so the two are tested against each other:

- a line is at most ``MAX_LINE`` bytes with its LF (a CR before the LF is ignored);
- ``M <a> <b>`` sets channel A and B to -1000..1000 (per mille), ``S`` stops both,
  ``H`` is a heartbeat; every line is answered ``OK`` or ``ERR <reason>``;
- a line that is not understood stops both channels (the link cannot be trusted);
- when no valid line has come for ``watchdog_s``, the watchdog stops both channels;
- plugging in is a power-up: both channels start stopped, and for ``boot_s`` seconds
  whatever arrives is lost (an Arduino's bootloader runs after the port opens);
- while ``fault`` is set (its motor driver chip reports overcurrent, say), ``M`` is
  refused with ``ERR <fault>`` and the channels stay stopped.

The device appears at ``link``, a symbolic link to the pseudo-terminal, the way a USB
device appears under /dev/serial/by-id/: unplugging removes it, plugging in again points
it at a new terminal.
"""

from __future__ import annotations

import os
import select
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

MAX_LINE = 32  # bytes, with the LF
FULL_SCALE = 1000


class CommandError(ValueError):
    """A line the firmware rejects; ``reason`` is the word it answers after ERR."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_command(line: bytes) -> tuple[str, tuple[int, ...]]:
    """One line, without its LF, as (verb, arguments); raises CommandError."""
    if line.endswith(b"\r"):
        line = line[:-1]
    fields = [field for field in line.split(b" ") if field]
    if not fields:
        raise CommandError("syntax")
    verb, args = fields[0], fields[1:]
    if verb == b"M":
        if len(args) != 2:
            raise CommandError("syntax")
        return "M", tuple(_per_mille(arg) for arg in args)
    if verb in (b"S", b"H"):
        if args:
            raise CommandError("syntax")
        return verb.decode(), ()
    raise CommandError("unknown")


def _per_mille(field: bytes) -> int:
    digits = field[1:] if field[:1] in (b"-", b"+") else field
    # ASCII digits only, as a C parser would take them (no "1_000", no other scripts' digits)
    if not 1 <= len(digits) <= 4 or not all(0x30 <= byte <= 0x39 for byte in digits):
        raise CommandError("syntax")
    value = int(field)
    if not -FULL_SCALE <= value <= FULL_SCALE:
        raise CommandError("range")
    return value


class SimulatedController:
    def __init__(self, link: Path | str, watchdog_s: float = 0.5, boot_s: float = 0.0) -> None:
        self.link = Path(link)
        self.watchdog_s = watchdog_s
        self.boot_s = boot_s
        self.fault: str | None = None
        self.outputs = (0.0, 0.0)  # channel A, channel B: -1..1
        self.received: list[bytes] = []  # every line, as it came
        self.watchdog_trips = 0
        self.plugged_in = False
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._fds: tuple[int, ...] = ()
        self.plug_in()

    # --- the test's side -----------------------------------------------------------------

    def plug_in(self) -> None:
        if self.plugged_in:
            return
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no newline translation: bytes pass as they are
        wake_read, wake_write = os.pipe()
        # The slave stays open here so the terminal outlives the Pi closing its end.
        self._fds = (master, slave, wake_read, wake_write)
        tmp = self.link.with_name(f".{self.link.name}.new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(slave))
        os.replace(tmp, self.link)
        with self._changed:
            self.outputs = (0.0, 0.0)  # power-up
            self.plugged_in = True
            self._changed.notify_all()
        self._thread = threading.Thread(
            target=self._serve, args=(master, wake_read), name="simulated-controller", daemon=True
        )
        self._thread.start()

    def unplug(self) -> None:
        """Pull the cable: the device disappears and the Pi's reads and writes fail."""
        if not self.plugged_in:
            return
        self.link.unlink(missing_ok=True)
        os.write(self._fds[3], b"x")  # wake the serving thread, which then ends
        assert self._thread is not None
        self._thread.join(timeout=10)
        for fd in self._fds:
            os.close(fd)
        with self._changed:
            self.outputs = (0.0, 0.0)  # no power, no motion
            self.plugged_in = False
            self._changed.notify_all()

    close = unplug

    def wait_until(
        self, condition: Callable[[SimulatedController], bool], timeout: float = 10.0
    ) -> bool:
        """Wait until ``condition(self)`` holds (re-checked whenever a line is handled)."""
        with self._changed:
            return self._changed.wait_for(lambda: condition(self), timeout)

    # --- the firmware --------------------------------------------------------------------

    def _serve(self, master: int, wake: int) -> None:
        pending = b""
        overflow = False  # inside a line that grew too long: skip to its end
        last_valid = time.monotonic()
        booted = last_valid + self.boot_s
        while True:
            timeout = None
            if self.outputs != (0.0, 0.0):
                timeout = max(0.0, last_valid + self.watchdog_s - time.monotonic())
            ready, _, _ = select.select([master, wake], [], [], timeout)
            if wake in ready:
                return
            if not ready:
                self._trip()
                continue
            pending += os.read(master, 1024)
            if time.monotonic() < booted:
                pending = b""  # the bootloader swallows it
                continue
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if overflow or len(line) + 1 > MAX_LINE:
                    overflow = False
                    self._reply(master, line, CommandError("long"))
                    continue
                try:
                    self._execute(parse_command(line))
                except CommandError as exc:
                    self._reply(master, line, exc)
                else:
                    last_valid = time.monotonic()
                    self._reply(master, line, None)
            if len(pending) >= MAX_LINE:
                overflow, pending = True, b""

    def _execute(self, command: tuple[str, tuple[int, ...]]) -> None:
        verb, args = command
        if verb == "M" and self.fault:
            raise CommandError(self.fault)
        if verb == "M":
            self._set(args[0] / FULL_SCALE, args[1] / FULL_SCALE)
        elif verb == "S":
            self._set(0.0, 0.0)

    def _reply(self, master: int, line: bytes, error: CommandError | None) -> None:
        if error is not None:
            self._set(0.0, 0.0)  # a garbled link is no link: stop
        with self._changed:
            self.received.append(line)
            self._changed.notify_all()
        os.write(master, b"OK\n" if error is None else f"ERR {error.reason}\n".encode())

    def _trip(self) -> None:
        with self._changed:
            self.watchdog_trips += 1
            self.outputs = (0.0, 0.0)
            self._changed.notify_all()

    def _set(self, a: float, b: float) -> None:
        with self._changed:
            self.outputs = (a, b)
            self._changed.notify_all()

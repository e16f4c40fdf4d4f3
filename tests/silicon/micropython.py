"""A small stand-in for MicroPython on a Raspberry Pi Pico, so its firmware runs under CPython.

``run_firmware`` executes a firmware file (firmware/pico/main.py) with the MicroPython
modules it imports (``machine``, ``time``, ``select``, ``sys``) bound to the stand-ins of one
simulated ``Pico``; every other import is CPython's own. The Pico's USB serial port (and any
UART) is a file descriptor, in the simulator the controller's end of a pseudo-terminal, and
its pins record what the firmware drives: a PWM pin's 16-bit duty, an input pin's level.
``Pico.set_level`` drives an input from outside (an encoder's phase) and runs the handler the
firmware attached with ``Pin.irq`` on the edges it asked for, as MicroPython's soft IRQs do.

Only what the firmware uses is modelled. ``Pico.power_off()`` ends the running firmware the
way pulling the plug would: its next wait on the link raises ``PoweredOff``.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import select
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any


class PoweredOff(Exception):
    """Raised inside the firmware when its board loses power."""


class _Link:
    """The serial link as MicroPython's firmware sees it: sys.stdin / stdout, or a UART."""

    def __init__(self, pico: Pico) -> None:
        self._pico = pico
        self.buffer = self  # sys.stdin.buffer and sys.stdout.buffer are the same stream here

    def fileno(self) -> int:
        return self._pico.link_fd

    def read(self, size: int) -> bytes:
        data = os.read(self._pico.link_fd, size)
        self._pico.heard(data)
        return data

    def write(self, data: bytes) -> int:
        written = os.write(self._pico.link_fd, data)
        self._pico.changed()
        return written


class Pico:
    """One simulated board: pins, the chip's watchdog and the link, as stand-in modules."""

    def __init__(self, link_fd: int, on_change: Callable[[], None] = lambda: None) -> None:
        self.link_fd = link_fd
        self.on_change = on_change
        self.duties: dict[int, int] = {}  # GP number -> PWM duty, 0..65535
        self.levels: dict[int, int] = {}  # GP number -> level an input pin reads
        self.irqs: dict[int, tuple[Callable[[Any], None], int, Any]] = {}  # handler, trigger, pin
        self.pwm_hz: dict[int, int] = {}
        self.chip_watchdog_ms: int | None = None  # set once the firmware arms it
        self.received: list[bytes] = []  # every line that came in, without its LF
        self.uart: tuple[int, int] | None = None  # (id, baudrate) once the firmware opens one
        self._partial = b""
        self._wake_read, self._wake_write = os.pipe()
        link = _Link(self)
        self.modules: dict[str, Any] = {
            "machine": _machine(self, link),
            "select": _select(self),
            "sys": types.SimpleNamespace(stdin=link, stdout=link),
            "time": types.SimpleNamespace(
                ticks_ms=_ticks_ms, ticks_diff=_ticks_diff, ticks_add=_ticks_add
            ),
        }

    def power_off(self) -> None:
        os.write(self._wake_write, b"x")

    def close(self) -> None:
        os.close(self._wake_read)
        os.close(self._wake_write)

    def set_level(self, gp: int, level: int) -> None:
        """Drive input ``gp`` to ``level``, running its IRQ handler on a matching edge."""
        before = self.levels.get(gp, 0)
        self.levels[gp] = level
        if gp not in self.irqs or before == level:
            return
        handler, trigger, pin = self.irqs[gp]
        if trigger & (IRQ_RISING if level else IRQ_FALLING):
            handler(pin)

    def heard(self, data: bytes) -> None:
        *lines, self._partial = (self._partial + data).split(b"\n")
        self.received.extend(lines)

    def changed(self) -> None:
        self.on_change()

    def wait_readable(self, timeout_ms: int | None) -> bool:
        timeout = None if timeout_ms is None or timeout_ms < 0 else timeout_ms / 1000
        ready, _, _ = select.select([self.link_fd, self._wake_read], [], [], timeout)
        if self._wake_read in ready:
            raise PoweredOff
        return bool(ready)


def load_firmware(path: Path, pico: Pico, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """The globals of the firmware at ``path``, its imports bound to ``pico``, not started.

    ``settings`` replace the firmware's constants (its pins, WATCHDOG_MS...), as editing the
    top of main.py would.
    """

    def micropython_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name in pico.modules:
            return pico.modules[name]
        return builtins.__import__(name, *args, **kwargs)

    namespace: dict[str, Any] = {
        "__name__": "firmware",  # not "__main__": run_firmware calls main(), after the settings
        "__file__": str(path),
        "__builtins__": {**vars(builtins), "__import__": micropython_import},
    }
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
    namespace.update(settings or {})
    return namespace


def run_firmware(firmware: dict[str, Any]) -> None:
    """Run loaded firmware until its board is powered off (or it fails)."""
    with contextlib.suppress(PoweredOff):
        firmware["main"]()


def _ticks_ms() -> int:
    return int(time.monotonic() * 1000)


def _ticks_diff(end: int, start: int) -> int:
    return end - start


def _ticks_add(ticks: int, delta: int) -> int:
    return ticks + delta


IRQ_RISING, IRQ_FALLING = 8, 4  # the RP2040 port's values (pico-sdk edge flags)


def _machine(pico: Pico, link: _Link) -> types.SimpleNamespace:
    class Pin:
        IN, OUT, PULL_UP, PULL_DOWN = 0, 1, 1, 2
        IRQ_RISING, IRQ_FALLING = IRQ_RISING, IRQ_FALLING

        def __init__(self, gp: int, mode: int = -1, pull: int = -1) -> None:
            self.gp = gp
            if pull == Pin.PULL_UP:
                pico.levels.setdefault(gp, 1)

        def value(self) -> int:
            return pico.levels.get(self.gp, 0)

        def irq(
            self, handler: Callable[[Any], None], trigger: int = IRQ_RISING | IRQ_FALLING
        ) -> None:
            pico.irqs[self.gp] = (handler, trigger, self)

    class PWM:
        def __init__(self, pin: Pin) -> None:
            self.gp = pin.gp

        def freq(self, hz: int) -> None:
            pico.pwm_hz[self.gp] = hz

        def duty_u16(self, duty: int) -> None:
            if not 0 <= duty <= 65535:
                raise ValueError(f"duty_u16 out of range: {duty}")
            pico.duties[self.gp] = duty
            pico.changed()

    class WDT:
        def __init__(self, id: int = 0, timeout: int = 5000) -> None:
            if not 1 <= timeout <= 8388:  # the RP2040's limit
                raise ValueError(f"WDT timeout out of range: {timeout}")
            pico.chip_watchdog_ms = timeout

        def feed(self) -> None:
            pass

    def uart(uart_id: int, baudrate: int = 115200, **pins: Pin) -> _Link:
        pico.uart = (uart_id, baudrate)
        return link

    return types.SimpleNamespace(Pin=Pin, PWM=PWM, WDT=WDT, UART=uart)


def _select(pico: Pico) -> types.SimpleNamespace:
    class Poll:
        def register(self, stream: Any, mask: int = 1) -> None:
            if stream.fileno() != pico.link_fd:
                raise ValueError("only the serial link can be polled on this board")

        def poll(self, timeout_ms: int = -1) -> list[tuple[Any, int]]:
            return [(None, 1)] if pico.wait_readable(timeout_ms) else []

    return types.SimpleNamespace(POLLIN=1, poll=Poll)

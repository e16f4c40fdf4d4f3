"""The serial motor controller: the Pico's firmware (firmware/pico/main.py) itself, run under
CPython on the MicroPython stand-in (micropython.py), on a pseudo-terminal.

So the driver's tests exercise the firmware that goes on the board. What the tests see is
read at the simulated pins: ``outputs`` is each channel's bridge drive, decoded from the
PWM duty of its two inputs.

- The device appears at ``link``, a symbolic link to the pseudo-terminal, the way a USB
  device appears under /dev/serial/by-id/: unplugging removes it and powers the Pico off,
  plugging in again points it at a new terminal and boots the firmware afresh.
- For ``boot_s`` seconds after plugging in, whatever arrives is lost (an Arduino's bootloader
  runs after the port opens; a Pico's MicroPython takes a moment to start main.py).
- ``fault = True`` pulls the bridge's nFAULT pin low: the firmware refuses ``M``.
- With ``encoder_counts_per_s`` (the counts a wheel's encoder gives per second at full
  output), each wheel turns with its channel's output and its quadrature encoder's phases
  drive the firmware's encoder pins; ``counts`` is how far each wheel really turned.
"""

from __future__ import annotations

import os
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.silicon.micropython import Pico, PoweredOff, load_firmware, run_firmware

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware" / "pico" / "main.py"
CHANNEL_PINS = ((8, 9), (10, 11))
FAULT_PIN = 15
ENCODER_PINS = ((2, 3), (4, 5))  # (phase A, phase B) of channel A's wheel, then of B's
DUTY_MAX = 65535
WHEEL_TICK_S = 0.002  # how often the simulated wheels turn on


class SimulatedController:
    def __init__(
        self,
        link: Path | str,
        watchdog_s: float = 0.5,
        boot_s: float = 0.0,
        encoder_counts_per_s: float | None = None,
        constants: dict[str, Any] | None = None,
    ) -> None:
        self.link = Path(link)
        self.watchdog_s = watchdog_s
        self.boot_s = boot_s
        self.encoder_counts_per_s = encoder_counts_per_s
        self.constants = constants or {}  # main.py's constants to replace, e.g. PROTOCOL
        self.counts = [0, 0]  # whole encoder counts each wheel turned since power-up
        self.plugged_in = False
        self._changed = threading.Condition()
        self._pico: Pico | None = None
        self._firmware: dict[str, Any] = {}
        self._thread: threading.Thread | None = None
        self._fds: tuple[int, ...] = ()
        self.plug_in()

    # --- what the test sees ------------------------------------------------------------------

    @property
    def outputs(self) -> tuple[float, float]:
        """Channel A and B as their bridges drive them, -1..1 (in whole per mille)."""
        if self._pico is None:
            return (0.0, 0.0)  # no power, no motion
        duties = self._pico.duties

        def channel(forward: int, backward: int) -> float:
            duty = duties.get(forward, 0) - duties.get(backward, 0)
            return round(duty * 1000 / DUTY_MAX) / 1000

        return channel(*CHANNEL_PINS[0]), channel(*CHANNEL_PINS[1])

    @property
    def received(self) -> list[bytes]:
        """Every line that came in, without its LF (checksums included)."""
        return [] if self._pico is None else list(self._pico.received)

    def commands(self) -> list[bytes]:
        """Every line that came in, without its checksum."""
        return [line.split(b"*")[0] for line in self.received]

    @property
    def watchdog_trips(self) -> int:
        controller = self._firmware.get("controller")
        return 0 if controller is None else controller.watchdog_trips

    @property
    def ttl_stops(self) -> int:
        """How often the firmware stopped the wheels because a command's TTL ended."""
        controller = self._firmware.get("controller")
        return 0 if controller is None else controller.ttl_stops

    @property
    def fault(self) -> bool:
        return self._pico is not None and self._pico.levels.get(FAULT_PIN) == 0

    @fault.setter
    def fault(self, value: bool) -> None:
        assert self._pico is not None, "plug the controller in first"
        self._pico.levels[FAULT_PIN] = 0 if value else 1
        self._notify()

    def wait_until(
        self, condition: Callable[[SimulatedController], bool], timeout: float = 10.0
    ) -> bool:
        """Wait until ``condition(self)`` holds (re-checked whenever the firmware acts)."""
        with self._changed:
            return self._changed.wait_for(lambda: condition(self), timeout)

    # --- the cable ---------------------------------------------------------------------------

    def plug_in(self) -> None:
        if self.plugged_in:
            return
        controller_end, pi_end = os.openpty()
        tty.setraw(pi_end)  # no echo, no newline translation: bytes pass as they are
        # The Pi's end stays open here so the terminal outlives the Pi closing it.
        self._fds = (controller_end, pi_end)
        tmp = self.link.with_name(f".{self.link.name}.new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(pi_end))
        os.replace(tmp, self.link)
        self._pico = Pico(controller_end, on_change=self._notify)
        settings = {
            "CHANNEL_PINS": CHANNEL_PINS,
            "FAULT_PIN": FAULT_PIN,
            "ENCODER_PINS": ENCODER_PINS if self.encoder_counts_per_s else None,
            "WATCHDOG_MS": round(self.watchdog_s * 1000),
            **self.constants,
        }
        self.counts = [0, 0]
        self._firmware = load_firmware(FIRMWARE, self._pico, settings)
        self._thread = threading.Thread(
            target=self._power_up,
            args=(self._pico, self._firmware),
            daemon=True,
            name="simulated-controller",
        )
        self.plugged_in = True
        self._thread.start()
        if self.encoder_counts_per_s:
            threading.Thread(
                target=self._turn_wheels, args=(self._pico,), daemon=True, name="simulated-wheels"
            ).start()
        self._notify()

    def unplug(self) -> None:
        """Pull the cable: the device disappears and the Pi's reads and writes fail."""
        if not self.plugged_in:
            return
        assert self._pico is not None and self._thread is not None
        self.link.unlink(missing_ok=True)
        self._pico.power_off()
        self._thread.join(timeout=10)
        self._pico.close()
        for fd in self._fds:
            os.close(fd)
        self._pico = None
        self._firmware = {}
        self.plugged_in = False
        self._notify()

    close = unplug

    def _power_up(self, pico: Pico, firmware: dict[str, Any]) -> None:
        booted = time.monotonic() + self.boot_s
        try:
            while (left := booted - time.monotonic()) > 0:
                if pico.wait_readable(round(left * 1000)):
                    os.read(pico.link_fd, 1024)  # the bootloader swallows it
        except PoweredOff:
            return
        run_firmware(firmware)

    def _turn_wheels(self, pico: Pico) -> None:
        """Turn each wheel with its channel's output, pulsing its encoder's phases."""
        assert self.encoder_counts_per_s is not None
        position = [0.0, 0.0]  # in counts, with the fraction not yet counted
        turned_at = time.monotonic()
        while pico is self._pico:
            outputs = self.outputs
            now = time.monotonic()
            dt, turned_at = now - turned_at, now
            for wheel, (phase_a, phase_b) in enumerate(ENCODER_PINS):
                position[wheel] += outputs[wheel] * self.encoder_counts_per_s * dt
                while abs(position[wheel] - self.counts[wheel]) >= 1:
                    step = 1 if position[wheel] > self.counts[wheel] else -1
                    # Phase B low on phase A's rising edge is forwards.
                    pico.set_level(phase_b, 0 if step > 0 else 1)
                    pico.set_level(phase_a, 1)
                    pico.set_level(phase_a, 0)
                    self.counts[wheel] += step
            time.sleep(WHEEL_TICK_S)

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

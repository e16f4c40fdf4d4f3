"""Maxim MAX17048, a one-cell ModelGauge fuel gauge, as registers behind the I2C object.

Modelled from the datasheet (19-6171): 16-bit registers, big-endian, at even addresses; a read
continues from the address the write before it set, byte by byte, so a one-byte read at an odd
address (CHIPID at 0x19, say) reads that register's low byte. What the model keeps:

- VCELL: 78.125 µV per bit; SOC: 1/256 % per bit; CRATE: signed, 0.208 % per hour per bit;
- VERSION reads 0x0012 (the MAX17048's), CONFIG 0x971C at power-on, STATUS with RI (reset
  indicator, bit 0 of its high byte) set at power-on until the host clears it;
- writing 0x5400 to CMD (0xFE) resets the chip, which does not acknowledge that write (the
  host sees a NACK, as Adafruit's library expects), and sets RI again.

The cell is set from outside: ``volts``, ``percent`` and ``rate_per_hour``.
"""

from __future__ import annotations

import errno
import os
import threading

VCELL, SOC, MODE, VERSION, HIBRT, CONFIG, VALRT, CRATE, VRESET, STATUS, CMD = (
    0x02,
    0x04,
    0x06,
    0x08,
    0x0A,
    0x0C,
    0x14,
    0x16,
    0x18,
    0x1A,
    0xFE,
)
RESET_COMMAND = 0x5400
RI = 0x01  # STATUS high byte, bit 0
READ_ONLY = {VCELL, SOC, VERSION, CRATE}


class MAX17048:
    def __init__(self, volts: float = 3.9, percent: float = 75.0, rate_per_hour: float = 0.0):
        self.volts = volts
        self.percent = percent
        self.rate_per_hour = rate_per_hour
        self.resets = 0
        self._lock = threading.Lock()
        self._power_on()

    def _power_on(self) -> None:
        self.memory = bytearray(256)
        for register, value in {
            VERSION: 0x0012,
            HIBRT: 0x8030,
            CONFIG: 0x971C,
            VALRT: 0x00FF,
            VRESET: 0x9600,
            STATUS: RI << 8,
        }.items():
            self.memory[register : register + 2] = value.to_bytes(2, "big")
        self._pointer = 0

    # --- the I2C side -----------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if not data:
            return  # an address probe
        with self._lock:
            self._pointer = data[0]
            if self._pointer == CMD and data[1:3] == RESET_COMMAND.to_bytes(2, "big"):
                self.resets += 1
                self._power_on()
                raise OSError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))  # the NACK
            for offset, byte in enumerate(data[1:]):
                register = self._pointer + offset
                if register & 0xFE not in READ_ONLY:
                    self.memory[register % 256] = byte

    def read(self, count: int) -> bytes:
        with self._lock:
            self._measure()
            start = self._pointer
            return bytes(self.memory[(start + i) % 256] for i in range(count))

    def _measure(self) -> None:
        vcell = round(self.volts / 78.125e-6) & 0xFFFF
        soc = round(self.percent * 256) & 0xFFFF
        crate = round(self.rate_per_hour / 0.208) & 0xFFFF
        for register, value in ((VCELL, vcell), (SOC, soc), (CRATE, crate)):
            self.memory[register : register + 2] = value.to_bytes(2, "big")

    @property
    def reset_indicator(self) -> bool:
        return bool(self.memory[STATUS] & RI)

"""An I2C bus with simulated devices on it, shaped like ``busio.I2C``.

Adafruit's CircuitPython drivers accept any object with these methods (``MotorKit(i2c=bus)``),
so they run unchanged against the register models in this package.
"""

from __future__ import annotations

import errno
import os
import threading
from typing import Protocol


class I2CDevice(Protocol):
    def write(self, data: bytes) -> None:
        """Bytes the controller wrote in one transfer (the first is usually a register)."""

    def read(self, count: int) -> bytes:
        """Bytes the controller reads in one transfer."""


class I2CBus:
    def __init__(self, devices: dict[int, I2CDevice] | None = None) -> None:
        self.devices: dict[int, I2CDevice] = dict(devices or {})
        self._lock = threading.Lock()

    # busio.I2C's locking: drivers take the bus for each transfer
    def try_lock(self) -> bool:
        return self._lock.acquire(blocking=False)

    def unlock(self) -> None:
        self._lock.release()

    def scan(self) -> list[int]:
        return sorted(self.devices)

    def writeto(
        self, address: int, buffer: bytes, *, start: int = 0, end: int | None = None
    ) -> None:
        self._device(address).write(bytes(buffer[start:end]))

    def readfrom_into(
        self, address: int, buffer: bytearray, *, start: int = 0, end: int | None = None
    ) -> None:
        end = len(buffer) if end is None else end
        buffer[start:end] = self._device(address).read(end - start)

    def writeto_then_readfrom(
        self,
        address: int,
        out_buffer: bytes,
        in_buffer: bytearray,
        *,
        out_start: int = 0,
        out_end: int | None = None,
        in_start: int = 0,
        in_end: int | None = None,
    ) -> None:
        self.writeto(address, out_buffer, start=out_start, end=out_end)
        self.readfrom_into(address, in_buffer, start=in_start, end=in_end)

    def deinit(self) -> None:
        pass

    def _device(self, address: int) -> I2CDevice:
        try:
            return self.devices[address]
        except KeyError:
            # What Linux reports when no device acknowledges the address.
            raise OSError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO)) from None

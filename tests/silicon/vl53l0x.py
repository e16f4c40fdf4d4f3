"""ST VL53L0X, the time-of-flight ranger, as registers behind an I2C address (0x29).

Modelled from what the chip does for the register sequences ST's API (and the drivers built
on it: Pololu's, Adafruit's) write, so a driver that gets them wrong reads nothing:

- identification: 0xC0 = 0xEE, 0xC1 = 0xAA, 0xC2 = 0x10;
- register 0xFF selects a page: the same address is another register on page 1, 6 or 7 (the
  "stop variable" 0x91 and the NVM reads live there); only page 0 ranges;
- the register pointer auto-increments over multi-byte reads and writes (16-bit values are
  big-endian);
- the reference-SPAD info: on page 7, with 0x94 = 0x6B written, writing 0x83 = 0x00 starts
  an NVM read that ends with 0x83 non-zero and the info in 0x92;
- SYSRANGE_START (0x00): bit 0 starts a measurement (single shot: the bit clears when it
  is done), 0x02 ranges back to back, a new range every ``PERIOD_S`` (the default timing
  budget); a finished measurement sets RESULT_INTERRUPT_STATUS (0x13, low bits) and the
  range in millimetres at 0x1E, until SYSTEM_INTERRUPT_CLEAR (0x0B);
- nothing within reach (``target_mm`` None or beyond ``REACH_MM``): the range reads 8190.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

ADDRESS = 0x29
PAGE = 0xFF
SYSRANGE_START, INTERRUPT_STATUS, INTERRUPT_CLEAR = 0x00, 0x13, 0x0B
RANGE_MM = 0x1E  # RESULT_RANGE_STATUS + 10
SPAD_INFO = 0x92
REACH_MM = 2000
NO_TARGET_MM = 8190
PERIOD_S = 0.033  # back to back, one range per timing budget
# Power-on values the API reads back (timeouts and VCSEL periods, so the timing budget the
# driver computes from them is the chip's ~33 ms).
POWER_ON = {
    0xC0: 0xEE,
    0xC1: 0xAA,
    0xC2: 0x10,
    0x01: 0xFF,  # SYSTEM_SEQUENCE_CONFIG
    0x46: 0x0B,  # MSRC_CONFIG_TIMEOUT_MACROP
    0x50: 0x06,  # PRE_RANGE_CONFIG_VCSEL_PERIOD: 14 PCLKs
    0x51: 0x00,
    0x52: 0x45,  # PRE_RANGE_CONFIG_TIMEOUT_MACROP
    0x70: 0x04,  # FINAL_RANGE_CONFIG_VCSEL_PERIOD: 10 PCLKs
    0x71: 0x01,
    0x72: 0xB0,  # FINAL_RANGE_CONFIG_TIMEOUT_MACROP
    0x84: 0x11,  # GPIO_HV_MUX_ACTIVE_HIGH
}


class VL53L0X:
    def __init__(self, target_mm: Callable[[], float | None]) -> None:
        self.target_mm = target_mm
        self.pages: dict[int, bytearray] = {page: bytearray(256) for page in (0, 1, 6, 7)}
        for register, value in POWER_ON.items():
            self.pages[0][register] = value
        self.pages[1][0x91] = 0x3C  # the stop variable
        self.page = 0
        self.measurements = 0
        self._continuous = False
        self._measured_at = -PERIOD_S
        self._pointer = 0
        self._lock = threading.Lock()

    # --- the I2C side ----------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if not data:
            return
        with self._lock:
            self._pointer = data[0]
            for byte in data[1:]:
                self._store(self._pointer, byte)
                self._pointer = (self._pointer + 1) & 0xFF

    def read(self, count: int) -> bytes:
        with self._lock:
            due = time.monotonic() - self._measured_at >= PERIOD_S
            if self._pointer == INTERRUPT_STATUS and self.page == 0 and self._continuous and due:
                self._measure()  # back to back: the next range is done
            data = bytes(self._load((self._pointer + i) & 0xFF) for i in range(count))
            self._pointer = (self._pointer + count) & 0xFF
            return data

    # --- the chip --------------------------------------------------------------------------

    def _load(self, register: int) -> int:
        if register == PAGE:
            return self.page
        return self.pages.get(self.page, self.pages[0])[register]

    def _store(self, register: int, value: int) -> None:
        if register == PAGE:
            self.page = value
            return
        page = self.pages.get(self.page, self.pages[0])
        page[register] = value
        if self.page == 7 and register == 0x83 and value == 0 and page[0x94] == 0x6B:
            page[0x83] = 0x10  # the NVM read is done
            page[SPAD_INFO] = 0x80 | 6  # aperture SPADs, six of them
        if self.page != 0:
            return
        if register == SYSRANGE_START:
            self._continuous = bool(value & 0x02)
            if value & 0x01:
                self._measure()
                page[SYSRANGE_START] = value & ~0x01  # single shot: done at once
        elif register == INTERRUPT_CLEAR and value & 0x01:
            page[INTERRUPT_STATUS] = 0

    def _measure(self) -> None:
        target = self.target_mm()
        millimetres = NO_TARGET_MM if target is None or target > REACH_MM else round(target)
        page = self.pages[0]
        page[RANGE_MM], page[RANGE_MM + 1] = millimetres >> 8, millimetres & 0xFF
        page[INTERRUPT_STATUS] = 0x04  # new sample ready
        self.measurements += 1
        self._measured_at = time.monotonic()

"""TI INA219, a high-side current and bus-voltage monitor, as registers behind the I2C object.

Modelled from the datasheet (SBOS448): six 16-bit registers, big-endian, addressed by a pointer
that the first byte of every write sets (a read continues from the pointer). What the model
keeps of the chip's rules:

- power-on: CONFIG 0x399F (32 V range, gain /8, 12-bit, continuous), CALIBRATION 0, so the
  CURRENT and POWER registers read 0 until a calibration is written;
- SHUNT_VOLTAGE: signed, 10 µV per bit, clipped to the gain's range (±40 mV * gain);
- BUS_VOLTAGE: 4 mV per bit in bits 15..3, CNVR (bit 1) set, OVF (bit 0) on overflow;
- CURRENT = SHUNT_VOLTAGE * CALIBRATION / 4096; POWER = CURRENT * BUS_VOLTAGE / 5000;
- CALIBRATION's bit 0 is not writable; CONFIG bit 15 resets every register.

The circuit is set from outside: ``volts`` at the load (the bus), ``amps`` through the shunt of
``shunt_ohms``.
"""

from __future__ import annotations

import threading

CONFIG, SHUNT_VOLTAGE, BUS_VOLTAGE, POWER, CURRENT, CALIBRATION = range(6)
CONFIG_RESET = 0x399F


class INA219:
    def __init__(self, volts: float = 12.0, amps: float = 0.0, shunt_ohms: float = 0.1) -> None:
        self.volts = volts
        self.amps = amps
        self.shunt_ohms = shunt_ohms
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.config = CONFIG_RESET
        self.calibration = 0
        self._pointer = 0

    # --- the I2C side -----------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if not data:
            return  # an address probe
        with self._lock:
            self._pointer = data[0]
            if len(data) >= 3:
                self._store(self._pointer, data[1] << 8 | data[2])

    def read(self, count: int) -> bytes:
        with self._lock:
            value = self._load(self._pointer)
        return (value.to_bytes(2, "big") * ((count + 1) // 2))[:count]

    def _store(self, register: int, value: int) -> None:
        if register == CONFIG:
            if value & 0x8000:
                self._reset()
            else:
                self.config = value
        elif register == CALIBRATION:
            self.calibration = value & 0xFFFE

    def _load(self, register: int) -> int:
        registers = {
            CONFIG: lambda: self.config,
            SHUNT_VOLTAGE: lambda: self.shunt_register() & 0xFFFF,
            BUS_VOLTAGE: self.bus_register,
            POWER: self.power_register,
            CURRENT: lambda: self.current_register() & 0xFFFF,
            CALIBRATION: lambda: self.calibration,
        }
        return registers[register]() if register in registers else 0

    # --- the conversions --------------------------------------------------------------------

    @property
    def gain(self) -> int:
        return 1 << (self.config >> 11 & 0b11)  # PGA: /1, /2, /4, /8

    def shunt_register(self) -> int:
        limit = 4000 * self.gain  # ±40 mV per gain step, in 10 µV bits
        bits = round(self.amps * self.shunt_ohms / 10e-6)
        return max(-limit, min(limit, bits))

    def bus_register(self) -> int:
        full_scale = 32.0 if self.config & 0x2000 else 16.0
        overflow = self.volts > full_scale
        bits = round(min(self.volts, full_scale) / 0.004) & 0x1FFF
        return bits << 3 | 0b10 | int(overflow)

    def current_register(self) -> int:
        return int(self.shunt_register() * self.calibration / 4096)

    def power_register(self) -> int:
        return abs(int(self.current_register() * (self.bus_register() >> 3) / 5000))

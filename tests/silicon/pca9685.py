"""NXP PCA9685, the 16-channel 12-bit PWM controller of the Adafruit Motor HAT, as registers.

Modelled from the datasheet: what a driver writes over I2C lands in the registers, and the
outputs are decoded from them the way the chip generates them, tick by tick over its
4096-tick period. What the model keeps of the chip's rules (the ones a driver can get wrong):

- power-on state: asleep (oscillator off, outputs low), every channel fully off;
- the register pointer auto-increments only when MODE1.AI is set;
- PRE_SCALE (the PWM frequency) can only be written while MODE1.SLEEP is set;
- per channel, the "full off" bit wins over "full on", which wins over the ON/OFF counts;
- ALL_LED_* registers write every channel at once;
- MODE2.INVRT inverts the outputs.
"""

from __future__ import annotations

import threading

MODE1, MODE2, LED0, ALL_LED, PRE_SCALE = 0x00, 0x01, 0x06, 0xFA, 0xFE
MODE1_AI, MODE1_SLEEP = 0x20, 0x10
MODE2_INVRT = 0x10
FULL = 0x10  # bit 4 of LEDn_ON_H / LEDn_OFF_H: full on / full off
CHANNELS = 16
TICKS = 4096
ALL_TICKS = (1 << TICKS) - 1
OSCILLATOR_HZ = 25_000_000


class PCA9685:
    def __init__(self) -> None:
        self.registers = bytearray(256)
        self.registers[MODE1] = 0x11  # SLEEP | ALLCALL
        self.registers[MODE2] = 0x04  # OUTDRV (totem pole)
        self.registers[PRE_SCALE] = 0x1E  # 200 Hz
        for channel in range(CHANNELS):
            self.registers[LED0 + 4 * channel + 3] = FULL  # every output fully off
        self._pointer = 0
        self._lock = threading.Lock()

    # --- the I2C side ----------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if not data:
            return  # an address probe
        with self._lock:
            self._pointer = data[0]
            for byte in data[1:]:
                self._store(self._pointer, byte)
                self._advance()

    def read(self, count: int) -> bytes:
        with self._lock:
            out = bytearray()
            for _ in range(count):
                # ALL_LED registers always read as zero
                out.append(
                    0 if ALL_LED <= self._pointer < PRE_SCALE else self.registers[self._pointer]
                )
                self._advance()
            return bytes(out)

    def _advance(self) -> None:
        if self.registers[MODE1] & MODE1_AI:
            self._pointer = (self._pointer + 1) % 256

    def _store(self, register: int, value: int) -> None:
        if register == PRE_SCALE and not self.registers[MODE1] & MODE1_SLEEP:
            return  # the chip ignores it: the oscillator must be stopped first
        if ALL_LED <= register < PRE_SCALE:
            offset = register - ALL_LED
            for channel in range(CHANNELS):
                self.registers[LED0 + 4 * channel + offset] = value
            return
        self.registers[register] = value

    # --- what the outputs do -----------------------------------------------------------

    @property
    def frequency(self) -> float:
        """The PWM frequency in Hz."""
        return OSCILLATOR_HZ / TICKS / (self.registers[PRE_SCALE] + 1)

    @property
    def sleeping(self) -> bool:
        return bool(self.registers[MODE1] & MODE1_SLEEP)

    def high_ticks(self, channel: int) -> int:
        """The output of ``channel`` over one PWM period: bit n set if high at tick n."""
        on_l, on_h, off_l, off_h = self.registers[LED0 + 4 * channel : LED0 + 4 * channel + 4]
        if self.sleeping or off_h & FULL:
            ticks = 0
        elif on_h & FULL:
            ticks = ALL_TICKS
        else:
            on = (on_h & 0x0F) << 8 | on_l
            off = (off_h & 0x0F) << 8 | off_l
            width = (off - on) % TICKS
            ticks = _rotate((1 << width) - 1, on)
        if self.registers[MODE2] & MODE2_INVRT and not self.sleeping:
            ticks ^= ALL_TICKS
        return ticks

    def duty(self, channel: int) -> float:
        """The fraction of each period that ``channel`` is high."""
        return self.high_ticks(channel).bit_count() / TICKS


def _rotate(ticks: int, by: int) -> int:
    """``ticks`` moved ``by`` ticks later, wrapping round the period."""
    return ((ticks << by) | (ticks >> (TICKS - by))) & ALL_TICKS

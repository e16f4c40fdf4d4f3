"""SIMULATED silicon: the ``smbus`` module's ``SMBus``, on a simulated I2C bus (i2c.py).

``smbus_module(bus)`` is a module for ``sys.modules["smbus"]`` whose ``SMBus(1)`` talks to the
devices on ``bus``; an address with no device raises OSError, as Linux does.
"""

from __future__ import annotations

import importlib.machinery
import types

from tests.silicon.i2c import I2CBus


def smbus_module(bus: I2CBus) -> types.ModuleType:
    class SMBus:
        def __init__(self, bus_number: int | None = None) -> None:
            self.bus_number = bus_number

        def write_byte_data(self, address: int, register: int, value: int) -> None:
            bus.writeto(address, bytes([register, value]))

        def read_byte_data(self, address: int, register: int) -> int:
            return self.read_i2c_block_data(address, register, 1)[0]

        def write_i2c_block_data(self, address: int, register: int, data: list[int]) -> None:
            bus.writeto(address, bytes([register, *data]))

        def read_i2c_block_data(self, address: int, register: int, length: int = 32) -> list[int]:
            data = bytearray(length)
            bus.writeto_then_readfrom(address, bytes([register]), data)
            return list(data)

        def close(self) -> None:
            pass

    module = types.ModuleType("smbus", "SIMULATED: tests/silicon/smbus.py")
    module.__spec__ = importlib.machinery.ModuleSpec("smbus", None)
    module.SMBus = SMBus  # type: ignore[attr-defined]
    return module

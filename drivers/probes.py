"""Looking at a board's bus without driving it: is a chip at an I2C address, who holds a GPIO.

Plain Linux interfaces (the i2c-dev and GPIO character devices) through the standard
library, so ``robot doctor`` needs no board library to say what is there.
"""

from __future__ import annotations

import fcntl
import os
import struct
from collections.abc import Iterable
from pathlib import Path

from drivers.base import DriverError

I2C_SLAVE = 0x0703  # linux/i2c-dev.h
GPIO_GET_CHIPINFO_IOCTL = 0x8044B401  # linux/gpio.h: _IOR(0xB4, 0x01, struct gpiochip_info)
GPIO_GET_LINEINFO_IOCTL = 0xC048B402  # _IOWR(0xB4, 0x02, struct gpioline_info), ABI v1
GPIOLINE_FLAG_KERNEL = 1  # the line is in use (by the kernel or a program)
CHIP_INFO = struct.Struct("32s32sI")  # name, label, lines
LINE_INFO = struct.Struct("II32s32s")  # offset, flags, name, consumer


I2C_BUS = Path("/dev/i2c-1")  # the 40-pin header's I2C bus


class ProbeError(DriverError):
    """The bus itself cannot be looked at; the message says why and what to do."""


def i2c_address_present(bus: Path, address: int) -> bool:
    """Whether a chip answers at ``address`` on ``bus`` (a one-byte read, as i2cdetect -r)."""
    try:
        fd = os.open(bus, os.O_RDWR)
    except FileNotFoundError:
        raise ProbeError(
            f"no I2C bus at {bus}: enable I2C (sudo raspi-config nonint do_i2c 0) and reboot"
        ) from None
    except PermissionError:
        raise ProbeError(f"no permission to open {bus}: add the user to the i2c group") from None
    try:
        try:
            fcntl.ioctl(fd, I2C_SLAVE, address)
        except OSError as exc:
            raise ProbeError(f"{bus} is not an I2C bus ({exc.strerror})") from None
        try:
            os.read(fd, 1)
        except OSError:
            return False  # no acknowledgement: nothing at that address
        return True
    finally:
        os.close(fd)


def header_gpio_chip(dev: Path = Path("/dev")) -> Path:
    """The GPIO chip of the 40-pin header (pinctrl-bcm2835/bcm2711 on a Pi 1-4, rp1 on a 5)."""
    chips = sorted(dev.glob("gpiochip*"))
    for chip in chips:
        try:
            with chip.open("rb") as handle:
                info = bytearray(CHIP_INFO.size)
                fcntl.ioctl(handle, GPIO_GET_CHIPINFO_IOCTL, info)
        except OSError:
            continue
        label = CHIP_INFO.unpack(info)[1].rstrip(b"\0").decode(errors="replace")
        if label.startswith("pinctrl-"):
            return chip
    raise ProbeError(
        f"no Raspberry Pi GPIO chip among {[str(c) for c in chips] or 'no /dev/gpiochip*'}"
        "; on a Pi, add the user to the gpio group"
    )


def gpio_lines_in_use(chip: Path, lines: Iterable[int]) -> dict[int, str]:
    """The lines of ``chip`` that something holds, each with its holder's name."""
    held = {}
    try:
        with chip.open("rb") as handle:
            for offset in lines:
                info = bytearray(LINE_INFO.pack(offset, 0, b"", b""))
                fcntl.ioctl(handle, GPIO_GET_LINEINFO_IOCTL, info)
                _, flags, _, consumer = LINE_INFO.unpack(info)
                if flags & GPIOLINE_FLAG_KERNEL:
                    held[offset] = consumer.rstrip(b"\0").decode(errors="replace") or "unnamed"
    except OSError as exc:
        raise ProbeError(f"cannot read the lines of {chip} ({exc.strerror})") from None
    return held


def describe_gpio_lines(lines: Iterable[int], dev: Path = Path("/dev")) -> str:
    """A sentence saying the header's ``lines`` are free; ProbeError naming who holds any."""
    lines = list(lines)
    chip = header_gpio_chip(dev)
    held = gpio_lines_in_use(chip, lines)
    if held:
        holders = ", ".join(f"GPIO{line} by {who!r}" for line, who in sorted(held.items()))
        raise ProbeError(
            f"motor pins in use: {holders}; stop the program that holds them "
            "(the robot service: sudo systemctl stop robot)"
        )
    return f"GPIO {', '.join(map(str, lines))} free on {chip}"


def describe_i2c_address(address: int, bus: Path = I2C_BUS) -> str:
    """A sentence saying a chip answers at ``address``; ProbeError saying what to check."""
    if not i2c_address_present(bus, address):
        raise ProbeError(
            f"nothing answers at I2C address 0x{address:02x} on {bus}: check the board is "
            "seated, powered, and its address jumpers (i2cdetect -y 1 lists what answers)"
        )
    return f"a chip answers at I2C address 0x{address:02x} on {bus}"

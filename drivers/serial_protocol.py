"""The Pi's side of docs/serial-protocol.md, line by line: no port, no threads.

Version 2 lines carry ``*`` and a CRC-8 (CRC-8/SMBUS) of what comes before it; the controller
answers a checksummed line with a checksummed reply. ``V`` asks for the controller's version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FULL_SCALE = 1000  # outputs travel as whole per mille: firmware needs no float parsing
VERSION = b"V"


class ChecksumError(ValueError):
    """A reply whose checksum is wrong or missing: the line was damaged on the way."""


# The firmware (firmware/pico/main.py) has its own copy: it runs on MicroPython, alone.
def crc8(data: bytes) -> int:
    """CRC-8/SMBUS: polynomial 0x07, initial value 0, no reflection, no final XOR."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def line(command: bytes, checked: bool) -> bytes:
    """The line that carries ``command`` (with its checksum when ``checked``) and its LF."""
    return command + (b"*%02X" % crc8(command) if checked else b"") + b"\n"


def drive_command(a: float, b: float) -> bytes:
    """The command that sets channel A to ``a`` and B to ``b`` (each -1..1)."""
    return f"M {round(a * FULL_SCALE)} {round(b * FULL_SCALE)}".encode()


def reply_text(reply: bytes, checked: bool) -> bytes:
    """A reply without its line end and (when ``checked``) its verified checksum."""
    text = reply.rstrip(b"\r\n")
    if not checked:
        return text
    body, star, digits = text.rpartition(b"*")
    if not star or len(digits) != 2 or not _is_hex(digits) or int(digits, 16) != crc8(body):
        raise ChecksumError(f"a reply with a bad checksum: {reply!r}")
    return body


def parse_reply(text: bytes) -> str | None:
    """``None`` for OK (with or without data), the reason for ERR; ValueError otherwise."""
    if text == b"OK" or text.startswith(b"OK "):
        return None
    if text == b"ERR" or text.startswith(b"ERR "):
        return text[4:].strip().decode("ascii", "replace") or "no reason given"
    raise ValueError(f"not a reply of the protocol: {text!r}")


@dataclass(frozen=True)
class Identity:
    protocol: int
    firmware: str


def parse_identity(text: bytes) -> Identity:
    """The reply to ``V`` (``OK 2 telepresence-pico 1.0``); ValueError if it is not one."""
    fields = text.decode("ascii", "replace").split(" ", 2)
    if len(fields) < 3 or fields[0] != "OK" or not fields[1].isdigit():
        raise ValueError(f"not a version reply: {text!r}")
    return Identity(int(fields[1]), fields[2])


def _is_hex(digits: bytes) -> bool:
    return all(byte in b"0123456789ABCDEFabcdef" for byte in digits)


def identify(port: Any) -> Identity | None:
    """Ask the controller on an open pyserial port who it is; None: a version 1 controller.

    Raises TimeoutError when nothing answers, ValueError for an answer outside the protocol.
    """
    port.reset_input_buffer()
    port.write(line(VERSION, checked=True))
    reply = port.read_until(b"\n")
    if not reply.endswith(b"\n"):
        raise TimeoutError(f"no reply to V (heard {reply!r})")
    if reply.rstrip(b"\r\n") == b"ERR unknown":  # version 1 does not know V
        return None
    return parse_identity(reply_text(reply, checked=True))

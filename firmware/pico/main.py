# Motor controller firmware for a Raspberry Pi Pico (RP2040) driving a two-channel H-bridge.
#
# MicroPython. It speaks docs/serial-protocol.md (version 2) with the Pi over USB (or a UART):
# one command per line, each answered OK or ERR <reason>, an optional CRC-8 on every line,
# and a watchdog that stops both channels when no valid line has come for WATCHDOG_MS.
#
# Flash it (MicroPython already on the Pico; see the README):
#     mpremote connect /dev/ttyACM0 cp firmware/pico/main.py :main.py + reset
#
# Wiring: each channel is a bridge with two inputs (IN1/IN2 of a DRV8833, MX1508, L9110S,
# TB6612 with PWM tied high...): IN1 high drives the motor forwards, IN2 high backwards, both
# low coast. Set the GP numbers below to your board's.

import select
import sys
import time

import machine

FIRMWARE = "telepresence-pico 1.0"
PROTOCOL = 2

CHANNEL_PINS = ((8, 9), (10, 11))  # (IN1, IN2) of channel A, then of B: GP numbers
FAULT_PIN = None  # the bridge's nFAULT output (low on a fault) as a GP number, or None
UART_ID = None  # None: talk over USB; 0 or 1: over that UART on UART_PINS (TX, RX)
UART_PINS = (0, 1)
BAUDRATE = 115200  # a UART's speed (USB ignores it)

PWM_HZ = 20000  # above hearing
WATCHDOG_MS = 500  # no valid line for this long stops both channels
CHIP_WATCHDOG_MS = 2000  # a hung loop resets the chip (armed by the Pi's first valid line)
POLL_MS = 20
MAX_LINE = 32  # bytes, with the LF
FULL_SCALE = 1000
DUTY_MAX = 65535


def crc8(data):
    """CRC-8/SMBUS (polynomial 0x07, initial value 0) of some bytes."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


class Refused(Exception):
    """A line the firmware will not carry out; args[0] is the reason it answers after ERR."""


def split_checksum(line):
    """(command, checked) of a line: ``M 1 2*7A`` is ``M 1 2`` with a correct checksum."""
    star = line.find(b"*")
    if star < 0:
        return line, False
    digits = line[star + 1 :]
    if len(digits) != 2 or hex_value(digits[0]) * 16 + hex_value(digits[1]) != crc8(line[:star]):
        raise Refused("checksum")
    return line[:star], True


def hex_value(byte):
    for low, high, base in ((0x30, 0x39, 0), (0x41, 0x46, 10), (0x61, 0x66, 10)):
        if low <= byte <= high:
            return byte - low + base
    raise Refused("checksum")


def per_mille(field):
    # ASCII digits only, compared as bytes: no "1_000", no other scripts' digits
    digits = field[1:] if field[:1] in (b"-", b"+") else field
    if not 1 <= len(digits) <= 4 or any(not 0x30 <= byte <= 0x39 for byte in digits):
        raise Refused("syntax")
    value = int(digits.decode())
    if value > FULL_SCALE:
        raise Refused("range")
    return -value if field[:1] == b"-" else value


def parse(command):
    """(verb, arguments) of a command without its checksum."""
    fields = [field for field in command.split(b" ") if field]
    if not fields:
        raise Refused("syntax")
    verb, args = fields[0], fields[1:]
    if verb == b"M":
        if len(args) != 2:
            raise Refused("syntax")
        return "M", (per_mille(args[0]), per_mille(args[1]))
    if verb in (b"S", b"H", b"V"):
        if args:
            raise Refused("syntax")
        return verb.decode(), ()
    raise Refused("unknown")


class Channel:
    """One H-bridge: two PWM inputs, one forwards and one backwards."""

    def __init__(self, pins):
        self.inputs = []
        for pin in pins:
            pwm = machine.PWM(machine.Pin(pin))
            pwm.freq(PWM_HZ)
            pwm.duty_u16(0)
            self.inputs.append(pwm)

    def set(self, value):
        forward, backward = self.inputs
        if value < 0:
            forward, backward = backward, forward
        backward.duty_u16(0)  # first, so the two inputs are never high together
        forward.duty_u16(abs(value) * DUTY_MAX // FULL_SCALE)


class Controller:
    """The protocol: bytes in, replies out, the channels set, the watchdog kept."""

    def __init__(self, channels, fault=None):
        self.channels = channels
        self.fault = fault  # a Pin that reads 0 while the bridge reports a fault
        self.line = bytearray()
        self.overflow = False  # inside a line that grew too long: skip to its end
        self.checked = False  # a checksummed line has come: refuse lines without one
        self.linked = False  # a valid line has come since power-up
        self.moving = False
        self.last_valid = time.ticks_ms()
        self.watchdog_trips = 0

    def receive(self, byte):
        """Take one byte; the reply (bytes) when it ended a line, else None."""
        if byte != 0x0A:
            if len(self.line) < MAX_LINE - 1:
                self.line.append(byte)
            else:
                self.overflow = True
            return None
        line = bytes(self.line)
        if line.endswith(b"\r"):
            line = line[:-1]
        overflow = self.overflow
        self.line = bytearray()
        self.overflow = False
        return self.answer(line, overflow)

    def answer(self, line, overflow):
        checked = b"*" in line
        try:
            if overflow:
                raise Refused("long")
            command, checked = split_checksum(line)
            if self.checked and not checked:
                raise Refused("checksum")
            reply = self.execute(*parse(command))
        except Refused as refused:
            self.stop()  # a garbled link is no link
            reply = b"ERR " + refused.args[0].encode()
        else:
            self.last_valid = time.ticks_ms()
            self.linked = True
            self.checked = self.checked or checked
        if checked:
            reply += f"*{crc8(reply):02X}".encode()
        return reply + b"\n"

    def execute(self, verb, args):
        if verb == "M":
            if self.fault is not None and not self.fault.value():
                raise Refused("fault")
            self.set(*args)
        elif verb == "S":
            self.stop()
        elif verb == "V":
            return f"OK {PROTOCOL} {FIRMWARE}".encode()
        return b"OK"

    def keep_watch(self):
        """Stop both channels when no valid line has come for WATCHDOG_MS."""
        if self.moving and time.ticks_diff(time.ticks_ms(), self.last_valid) > WATCHDOG_MS:
            self.stop()
            self.watchdog_trips += 1

    def set(self, a, b):
        self.channels[0].set(a)
        self.channels[1].set(b)
        self.moving = a != 0 or b != 0

    def stop(self):
        self.set(0, 0)


def open_link():
    """(what to poll, what to read, what to write) for the link to the Pi."""
    if UART_ID is None:
        return sys.stdin, sys.stdin.buffer, sys.stdout.buffer
    uart = machine.UART(
        UART_ID, baudrate=BAUDRATE, tx=machine.Pin(UART_PINS[0]), rx=machine.Pin(UART_PINS[1])
    )
    return uart, uart, uart


def serve(controller, link):
    watched, reader, writer = link
    poller = select.poll()
    poller.register(watched, select.POLLIN)
    chip_watchdog = None
    while True:
        if poller.poll(POLL_MS):
            data = reader.read(1)
            reply = controller.receive(data[0]) if data else None
            if reply is not None:
                writer.write(reply)
        controller.keep_watch()
        if chip_watchdog is None and controller.linked:
            chip_watchdog = machine.WDT(timeout=CHIP_WATCHDOG_MS)
        if chip_watchdog is not None:
            chip_watchdog.feed()


controller = None  # the running Controller: at the REPL after Ctrl-C, look at its state


def main():
    global controller
    channels = [Channel(pins) for pins in CHANNEL_PINS]
    fault = None
    if FAULT_PIN is not None:
        fault = machine.Pin(FAULT_PIN, machine.Pin.IN, machine.Pin.PULL_UP)
    controller = Controller(channels, fault)
    try:
        serve(controller, open_link())
    finally:
        controller.stop()  # whatever ended the loop, the wheels stop


if __name__ == "__main__":
    main()

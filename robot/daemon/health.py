"""The robot's health as a Raspberry Pi reports it: CPU temperature, the firmware's throttling
flags, Wi-Fi, load, free memory and disk, uptime.

Each figure comes from where Raspberry Pi OS keeps it: the kernel's thermal zone
(``/sys/class/thermal``), ``vcgencmd get_throttled`` (the firmware's flags, now and since boot),
``/proc/net/wireless`` with ``iw dev IFACE link`` (signal, link rate, access point),
``/proc/loadavg``, ``/proc/meminfo``, ``statvfs`` and ``/proc/uptime``. A figure that cannot be
read (no Wi-Fi, not a Pi) is ``None``; reading never raises. Reads may block (two programs
run): the daemon calls :meth:`PiHealth.read` off its loop.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

from robot.contracts.telemetry import ThrottleFlag

HEALTH_GROUP = "telepresence_robot.health"  # health sources by HEALTH_SOURCE name
COMMAND_TIMEOUT_S = 2.0

# vcgencmd get_throttled's bits (Raspberry Pi documentation, "vcgencmd"): the low four say
# what holds now, the same four from bit 16 what has happened since boot.
THROTTLE_BITS = {
    0: ThrottleFlag.UNDER_VOLTAGE,
    1: ThrottleFlag.FREQUENCY_CAPPED,
    2: ThrottleFlag.THROTTLED,
    3: ThrottleFlag.SOFT_TEMPERATURE_LIMIT,
}
SINCE_BOOT_SHIFT = 16

Run = Callable[[list[str]], str | None]


def run_program(argv: list[str]) -> str | None:
    """A program's output, or None if it is missing, fails or hangs."""
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def throttle_flags(word: int) -> dict[str, list[ThrottleFlag]]:
    """The flags of a ``get_throttled`` word, now and since boot."""
    return {
        "now": [flag for bit, flag in THROTTLE_BITS.items() if word >> bit & 1],
        "since_boot": [
            flag for bit, flag in THROTTLE_BITS.items() if word >> (bit + SINCE_BOOT_SHIFT) & 1
        ],
    }


def parse_throttled(output: str) -> dict[str, list[ThrottleFlag]] | None:
    """``throttled=0x50005`` as flags."""
    match = re.search(r"throttled=(0x[0-9a-fA-F]+)", output)
    return throttle_flags(int(match.group(1), 16)) if match else None


def parse_wireless(text: str) -> dict[str, Any] | None:
    """The first interface of ``/proc/net/wireless`` (two header lines, then one line per
    interface: name, status, link quality, signal level in dBm, noise, ...)."""
    for line in text.splitlines()[2:]:
        name, _, rest = line.partition(":")
        fields = rest.split()
        if len(fields) < 3:
            continue
        return {
            "interface": name.strip(),
            "link_quality": _number(fields[1]),
            "signal_dbm": _number(fields[2]),
        }
    return None


def parse_iw_link(text: str) -> dict[str, Any]:
    """What ``iw dev IFACE link`` says of the association: the access point's address, its
    SSID, the signal, the link rates and the frequency; ``{}`` when not connected."""
    found: dict[str, Any] = {}
    if match := re.search(r"^Connected to ([0-9a-fA-F:]{17})", text, re.MULTILINE):
        found["ap"] = match.group(1).lower()
    patterns = {
        "ssid": (r"^\s*SSID: (.*)$", str),
        "signal_dbm": (r"^\s*signal: (-?\d+) dBm", int),
        "tx_bitrate_mbps": (r"^\s*tx bitrate: ([\d.]+) MBit/s", float),
        "rx_bitrate_mbps": (r"^\s*rx bitrate: ([\d.]+) MBit/s", float),
        "frequency_mhz": (r"^\s*freq: ([\d.]+)", float),
    }
    for name, (pattern, kind) in patterns.items():
        if match := re.search(pattern, text, re.MULTILINE):
            found[name] = kind(match.group(1))
    return found


def _number(field: str) -> float | None:
    try:
        return float(field.rstrip("."))
    except ValueError:
        return None


class PiHealth:
    """The health of the computer whose files are under ``root`` (``/`` on the robot; a
    fixture's folder in the tests), with ``run`` running ``vcgencmd`` and ``iw``."""

    name = "pi"

    def __init__(self, root: Path | str = "/", run: Run = run_program) -> None:
        self.root = Path(root)
        self.run = run

    def read(self) -> dict[str, Any]:
        """Every figure, each None when it cannot be read."""
        return {
            "cpu_temp_c": self.cpu_temperature(),
            "throttled": self.throttled(),
            "wifi": self.wifi(),
            "load": self.load(),
            "memory_free_mb": self.memory_free_mb(),
            "disk_free_mb": self.disk_free_mb(),
            "uptime_s": self.uptime_s(),
        }

    def _text(self, relative: str) -> str | None:
        try:
            return (self.root / relative).read_text()
        except (OSError, UnicodeDecodeError):
            return None

    def cpu_temperature(self) -> float | None:
        """The CPU's thermal zone in °C (type ``cpu-thermal`` on a Pi, else the first zone)."""
        zones = sorted((self.root / "sys/class/thermal").glob("thermal_zone*"))
        for zone in sorted(zones, key=lambda zone: self._zone_type(zone) != "cpu-thermal"):
            try:
                return int((zone / "temp").read_text()) / 1000  # millidegrees
            except (OSError, ValueError):
                continue
        return None

    @staticmethod
    def _zone_type(zone: Path) -> str:
        try:
            return (zone / "type").read_text().strip()
        except OSError:
            return ""

    def throttled(self) -> dict[str, list[ThrottleFlag]] | None:
        output = self.run(["vcgencmd", "get_throttled"])
        return None if output is None else parse_throttled(output)

    def wifi(self) -> dict[str, Any] | None:
        text = self._text("proc/net/wireless")
        wireless = parse_wireless(text) if text else None
        if wireless is None:
            return None
        link = self.run(["iw", "dev", wireless["interface"], "link"])
        return {**wireless, **(parse_iw_link(link) if link else {})}

    def load(self) -> list[float] | None:
        text = self._text("proc/loadavg")
        try:
            return [float(value) for value in text.split()[:3]] if text else None
        except ValueError:
            return None

    def memory_free_mb(self) -> float | None:
        """MemAvailable: what programs can still get without swapping."""
        text = self._text("proc/meminfo")
        match = re.search(r"^MemAvailable:\s+(\d+) kB", text or "", re.MULTILINE)
        return round(int(match.group(1)) / 1024, 1) if match else None

    def disk_free_mb(self) -> float | None:
        try:
            stats = os.statvfs(self.root)
        except OSError:
            return None
        return round(stats.f_bavail * stats.f_frsize / 2**20, 1)

    def uptime_s(self) -> float | None:
        text = self._text("proc/uptime")
        try:
            return float(text.split()[0]) if text else None
        except ValueError:
            return None


class HealthSource(Protocol):
    """What a health source offers: every figure, as :meth:`PiHealth.read` gives them."""

    name: str

    def read(self) -> dict[str, Any]: ...


def load_source(name: str) -> HealthSource:
    """The health source named ``name`` (HEALTH_SOURCE): an entry point of HEALTH_GROUP."""
    (entry,) = entry_points(group=HEALTH_GROUP, name=name)
    return entry.load()()

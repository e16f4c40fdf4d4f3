"""``robot doctor``'s health checks: the figures the health report sends, judged, and the
battery gauge read once when one is configured."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from robot.cli.findings import Finding, fail, ok, skip, warn
from robot.contracts.telemetry import ThrottleFlag
from robot.daemon import config
from robot.daemon.battery import BatteryLevel, open_gauge
from robot.daemon.health import HealthSource, load_source

HOT_C = 80.0  # the Pi's firmware starts throttling at 80-85 °C
WEAK_SIGNAL_DBM = -70  # below it video stutters and commands arrive late
LOW_DISK_MB = 500  # the journal and the e-stop latch need room
LOW_MEMORY_MB = 100


def check_health(settings: config.Config, source: HealthSource | None = None) -> Iterator[Finding]:
    if source is None:
        if settings.health_source == "off":
            yield skip("health", "HEALTH_SOURCE is off")
            return
        source = load_source(settings.health_source)
    figures = source.read()
    yield from _temperature(figures["cpu_temp_c"])
    yield from _throttling(figures["throttled"])
    yield from _wifi(figures["wifi"])
    yield from _resources(figures)


def _temperature(celsius: float | None) -> Iterator[Finding]:
    if celsius is None:
        yield skip("health", "no CPU thermal zone (not a Pi?)")
    elif celsius >= HOT_C:
        yield warn("health", f"CPU at {celsius:.0f} °C: it throttles; give it a heatsink or air")
    else:
        yield ok("health", f"CPU at {celsius:.0f} °C")


def _throttling(flags: dict[str, list[ThrottleFlag]] | None) -> Iterator[Finding]:
    if flags is None:
        yield skip("health", "no vcgencmd get_throttled (not a Pi?)")
        return
    if ThrottleFlag.UNDER_VOLTAGE in flags["now"]:
        yield fail(
            "health",
            "under-voltage now: the supply sags (the motors share it?); use a 5.1 V 3 A supply "
            "or a separate regulator for the Pi",
        )
    elif flags["now"]:
        yield warn("health", f"now: {', '.join(flags['now'])}")
    if flags["since_boot"] and not flags["now"]:
        yield warn("health", f"since boot: {', '.join(flags['since_boot'])}")
    if not flags["now"] and not flags["since_boot"]:
        yield ok("health", "no under-voltage or throttling since boot")


def _wifi(wifi: dict[str, Any] | None) -> Iterator[Finding]:
    if wifi is None:
        yield skip("health", "no Wi-Fi interface (wired, or /proc/net/wireless is empty)")
        return
    signal = wifi.get("signal_dbm")
    where = f"{wifi['interface']} to {wifi.get('ssid', '?')} ({wifi.get('ap', 'no access point')})"
    rate = wifi.get("tx_bitrate_mbps")
    text = f"{where}: signal {signal:.0f} dBm" + (f", {rate:g} Mbit/s" if rate else "")
    if "ap" not in wifi:
        yield fail("health", f"{wifi['interface']} is not associated: check the Wi-Fi settings")
    elif signal is not None and signal < WEAK_SIGNAL_DBM:
        yield warn("health", f"{text}: weak; move the access point or the robot's antenna")
    else:
        yield ok("health", text)


def _resources(figures: dict[str, Any]) -> Iterator[Finding]:
    disk, memory, load = figures["disk_free_mb"], figures["memory_free_mb"], figures["load"]
    if disk is None or memory is None or load is None:
        yield skip("health", "no /proc/loadavg, /proc/meminfo or statvfs: not Linux?")
        return
    text = f"load {load[0]:g}, {memory:.0f} MB memory and {disk:.0f} MB disk free"
    if disk < LOW_DISK_MB:
        yield warn("health", f"{text}: the disk is nearly full; free some space")
    elif memory < LOW_MEMORY_MB:
        yield warn("health", f"{text}: memory is short")
    else:
        uptime = figures["uptime_s"]
        yield ok("health", text + (f", up {uptime / 3600:.1f} h" if uptime else ""))


def check_battery(settings: config.Config) -> Finding:
    if settings.battery is None:
        return skip("battery", "no BATTERY gauge configured")
    sensor = settings.battery.sensor
    try:
        report = open_gauge(settings.battery, None).read()
    except ImportError as exc:
        return fail("battery", f"{sensor}: {exc}; pip install '.[battery]'")
    except (OSError, ValueError, RuntimeError) as exc:
        return fail("battery", f"no {sensor} answers on I2C ({exc}): check its wiring and address")
    minutes = report["minutes_left"]
    text = (
        f"{sensor}: {report['percent']:.0f} %, {report['voltage']:.2f} V, "
        f"{report['current_ma']:.0f} mA" + (f", about {minutes:.0f} min left" if minutes else "")
    )
    if report["level"] is not BatteryLevel.OK:
        return warn("battery", f"{text}: {report['level']}; charge it")
    return ok("battery", text)

"""``robot doctor``'s health and battery lines: the Pi 4's files (tests/health/pi4-bookworm/)
judged, and the battery gauge configured in BATTERY read once."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from robot.cli.health_checks import check_battery, check_health
from robot.daemon.battery import BatterySettings
from robot.daemon.health import PiHealth, run_program
from tests.health.test_health import PI, STANDINS, on_pi  # noqa: F401
from tests.unit.conftest import sim_config  # noqa: F401


def lines(findings) -> list[str]:
    return [str(finding) for finding in findings]


def test_the_doctor_reports_a_pis_health_and_its_power_trouble(on_pi, sim_config):  # noqa: F811
    found = lines(check_health(sim_config, on_pi))
    assert found == [
        "ok   health: CPU at 53 °C",
        "FAIL health: under-voltage now: the supply sags (the motors share it?); use a 5.1 V 3 A "
        "supply or a separate regulator for the Pi",
        "ok   health: wlan0 to corridor (9c:53:22:4a:10:7e): signal -61 dBm, 175.5 Mbit/s",
        found[3],
    ]
    assert found[3].startswith("ok   health: load 0.42, 3219 MB memory and ")
    assert found[3].endswith(", up 1.2 h")


def test_flags_only_since_boot_are_a_warning(sim_config, monkeypatch, tmp_path: Path):  # noqa: F811
    (tmp_path / "throttled.txt").write_text("throttled=0x50000\n")
    monkeypatch.setenv("THROTTLED_OUTPUT", str(tmp_path / "throttled.txt"))
    monkeypatch.setenv("IW_LINK_OUTPUT", str(PI / "iw-dev-wlan0-link.txt"))
    source = PiHealth(PI, run=lambda argv: run_program([str(STANDINS / argv[0]), *argv[1:]]))
    found = lines(check_health(sim_config, source))
    assert "warn health: since boot: under-voltage, throttled" in found


def test_off_a_pi_the_pi_only_figures_are_skipped(sim_config):  # noqa: F811
    found = lines(check_health(sim_config, PiHealth(Path("/nonexistent"), run=lambda argv: None)))
    assert found == [
        "skip health: no CPU thermal zone (not a Pi?)",
        "skip health: no vcgencmd get_throttled (not a Pi?)",
        "skip health: no Wi-Fi interface (wired, or /proc/net/wireless is empty)",
        "skip health: no /proc/loadavg, /proc/meminfo or statvfs: not Linux?",
    ]


def test_the_battery_line_reads_the_configured_gauge(sim_config):  # noqa: F811
    assert str(check_battery(sim_config)) == "skip battery: no BATTERY gauge configured"
    low = BatterySettings("sim", cells=3, capacity_mah=2200, options={"start_percent": 15})
    found = str(check_battery(dataclasses.replace(sim_config, battery=low)))
    assert found.startswith("warn battery: sim: 15 %, ")
    assert found.endswith(": low; charge it")
    # No INA219 answers on this computer's I2C: a failure with the fix, not a crash.
    missing = dataclasses.replace(sim_config, battery=BatterySettings("ina219"))
    assert str(check_battery(missing)).startswith("FAIL battery: ")

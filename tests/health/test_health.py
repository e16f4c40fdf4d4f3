"""The health source against a Raspberry Pi 4's files (tests/health/pi4-bookworm/, where each
format comes from is in its README), with stand-ins for the firmware's vcgencmd and for iw run
as programs; against this computer's own /proc; and the simulated source of ``robot sim``."""

from __future__ import annotations

from pathlib import Path

import pytest

from robot.contracts.telemetry import ThrottleFlag
from robot.daemon.health import (
    PiHealth,
    load_source,
    parse_iw_link,
    parse_throttled,
    run_program,
)

HERE = Path(__file__).parent
PI = HERE / "pi4-bookworm"
STANDINS = HERE / "standins"


@pytest.fixture
def on_pi(monkeypatch: pytest.MonkeyPatch) -> PiHealth:
    monkeypatch.setenv("THROTTLED_OUTPUT", str(PI / "vcgencmd-get_throttled.txt"))
    monkeypatch.setenv("IW_LINK_OUTPUT", str(PI / "iw-dev-wlan0-link.txt"))
    return PiHealth(PI, run=lambda argv: run_program([str(STANDINS / argv[0]), *argv[1:]]))


def test_a_pis_health_is_read_from_its_files_and_programs(on_pi: PiHealth):
    figures = on_pi.read()
    assert figures["cpu_temp_c"] == 52.582
    assert figures["throttled"] == {
        "now": [ThrottleFlag.UNDER_VOLTAGE, ThrottleFlag.THROTTLED],
        "since_boot": [ThrottleFlag.UNDER_VOLTAGE, ThrottleFlag.THROTTLED],
    }
    assert figures["wifi"] == {
        "interface": "wlan0",
        "link_quality": 49.0,
        "signal_dbm": -61,
        "ap": "9c:53:22:4a:10:7e",
        "ssid": "corridor",
        "tx_bitrate_mbps": 175.5,
        "rx_bitrate_mbps": 234.0,
        "frequency_mhz": 5180.0,
    }
    assert figures["load"] == [0.42, 0.31, 0.27]
    assert figures["memory_free_mb"] == round(3296112 / 1024, 1)
    assert figures["uptime_s"] == 4198.03
    assert figures["disk_free_mb"] > 0


def test_a_pi_without_wifi_nor_firmware_tools_reports_none_for_them(tmp_path: Path):
    (tmp_path / "proc/net").mkdir(parents=True)
    (tmp_path / "proc/net/wireless").write_text((PI / "proc/net/wireless").read_text()[:160])
    health = PiHealth(tmp_path, run=lambda argv: run_program(["/nonexistent/" + argv[0]]))
    figures = health.read()
    assert figures["wifi"] is None  # the header lines, no interface
    assert figures["throttled"] is None and figures["cpu_temp_c"] is None
    assert figures["load"] is None and figures["uptime_s"] is None


def test_a_wifi_interface_that_is_not_associated_has_only_its_signal(on_pi, tmp_path, monkeypatch):
    (tmp_path / "not-connected.txt").write_text("Not connected.\n")
    monkeypatch.setenv("IW_LINK_OUTPUT", str(tmp_path / "not-connected.txt"))
    wifi = on_pi.wifi()
    assert wifi == {"interface": "wlan0", "link_quality": 49.0, "signal_dbm": -61.0}
    assert parse_iw_link("Not connected.\n") == {}


@pytest.mark.parametrize(
    ("word", "now", "since_boot"),
    [
        ("0x0", [], []),
        ("0x80008", [ThrottleFlag.SOFT_TEMPERATURE_LIMIT], [ThrottleFlag.SOFT_TEMPERATURE_LIMIT]),
        ("0x20000", [], [ThrottleFlag.FREQUENCY_CAPPED]),
    ],
)
def test_the_firmwares_flags_are_named_now_and_since_boot(word, now, since_boot):
    assert parse_throttled(f"throttled={word}\n") == {"now": now, "since_boot": since_boot}
    assert parse_throttled('error=1 error_msg="Command not registered"') is None


def test_this_computers_own_figures_are_read_where_it_keeps_them():
    figures = PiHealth().read()
    assert len(figures["load"]) == 3
    assert figures["memory_free_mb"] > 0 and figures["disk_free_mb"] > 0
    assert figures["uptime_s"] > 0


def test_the_simulated_source_reports_every_figure_as_a_pi_would():
    figures = load_source("sim").read()
    assert set(figures) == set(PiHealth(PI).read())
    assert all(value is not None for value in figures.values())
    assert figures["throttled"] == {"now": [], "since_boot": []}
    assert -90 < figures["wifi"]["signal_dbm"] < -30

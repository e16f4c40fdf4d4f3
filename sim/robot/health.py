"""The simulated robot's health (``HEALTH_SOURCE: "sim"``): this computer's load, memory, disk
and uptime as they are, with a Pi's CPU temperature, firmware flags and Wi-Fi made up, the
temperature following the load and the signal wandering as a robot's does down a corridor."""

from __future__ import annotations

import math
import time
from typing import Any

from robot.daemon.health import PiHealth, throttle_flags

AP = "02:00:00:00:00:01"  # a locally administered address: no real access point's


class SimHealth(PiHealth):
    name = "sim"

    def __init__(self) -> None:
        super().__init__("/")
        self.started = time.monotonic()

    def read(self) -> dict[str, Any]:
        figures = super().read()
        load = (figures["load"] or [0.0])[0]
        wander = math.sin((time.monotonic() - self.started) / 30)
        return {
            **figures,
            "cpu_temp_c": round(45 + 5 * min(load, 4), 1),
            "throttled": throttle_flags(0),
            "wifi": {
                "interface": "wlan0",
                "link_quality": round(55 + 10 * wander),
                "signal_dbm": round(-55 + 10 * wander),
                "ap": AP,
                "ssid": "sim",
                "tx_bitrate_mbps": 72.2,
                "rx_bitrate_mbps": 65.0,
                "frequency_mhz": 2437.0,
            },
        }

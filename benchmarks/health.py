"""The health report's cost: one collection's CPU time, the daemon's idle CPU with health on
and off, and the command path's latency with health on and off.

    .venv/bin/python benchmarks/health.py [--idle-s 30] [--commands 200]

Health "on" is the Pi source as it runs on a Pi: its files, and ``vcgencmd`` and ``iw`` run as
programs each time (here the stand-ins of tests/health/standins/ on PATH, printing a Pi 4's
answers: the cost of starting them is what a Pi pays too), with the simulated battery gauge, at
the default HEALTH_INTERVAL_MS. The daemon drives the instrumented Explorer HAT stand-in of
benchmarks/command_path.py on a local mosquitto with mutual TLS. Figures are printed beside the
issue's targets; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.command_path import (
    THING,
    Bench,
    Wheels,
    our_robot,
    percentile,
    running,
    standin_env,
    write_our_config,
)
from benchmarks.proc import TICKS_PER_S, stat_fields
from robot.daemon.config import KEYS_BY_NAME
from robot.daemon.health import PiHealth
from sim.aws.certs import make_certs
from sim.aws.iot_core import Broker
from tests.support.mqtt import connected

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "health"
INTERVAL_S = KEYS_BY_NAME["HEALTH_INTERVAL_MS"].default / 1000


def pi_environment() -> dict[str, str]:
    """vcgencmd and iw on PATH, answering as a Pi 4 does."""
    return {
        "PATH": f"{FIXTURES / 'standins'}{os.pathsep}{os.environ['PATH']}",
        "THROTTLED_OUTPUT": str(FIXTURES / "pi4-bookworm" / "vcgencmd-get_throttled.txt"),
        "IW_LINK_OUTPUT": str(FIXTURES / "pi4-bookworm" / "iw-dev-wlan0-link.txt"),
    }


def cpu_with_children() -> float:
    own = time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own + children.ru_utime + children.ru_stime


def collection_cpu_ms(count: int) -> list[float]:
    """CPU ms (this process and the programs it runs) of each of ``count`` collections."""
    os.environ.update(pi_environment())
    source = PiHealth(FIXTURES / "pi4-bookworm")
    spent = []
    for _ in range(count):
        before = cpu_with_children()
        source.read()
        spent.append((cpu_with_children() - before) * 1000)
    return spent


def process_cpu_seconds(pid: int) -> float:
    """A process's CPU time and that of its children it has waited for (vcgencmd, iw)."""
    fields = stat_fields(Path(f"/proc/{pid}/stat").read_text())
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS_PER_S


def daemon_figures(health: bool, idle_s: float, commands: int) -> tuple[float, list[float]]:
    """The daemon's idle CPU (% of a core) and its command latencies (ms)."""
    wheels = Wheels()
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        certs = make_certs(work / "certs", THING)
        with Broker(work / "broker", certs, THING) as broker:
            config = write_our_config(work, broker, certs)
            settings = json.loads(config.read_text())
            if health:
                settings["HEALTH_SOURCE"] = "pi"
            else:
                settings.update({"HEALTH_SOURCE": "off", "BATTERY": {}})
            config.write_text(json.dumps(settings))
            env = {**standin_env(wheels), **pi_environment()}
            with (
                connected(broker, certs.publisher) as publisher,
                running(our_robot(config), ROOT, env, work / "robot.log") as robot,
            ):
                bench = Bench(publisher, wheels)
                bench.ready(work / "robot.log")
                before = process_cpu_seconds(robot.pid)
                time.sleep(idle_s)
                idle = (process_cpu_seconds(robot.pid) - before) / idle_s * 100
                latencies = bench.sparse(commands, 0.05)
    return idle, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle-s", type=float, default=30.0)
    parser.add_argument("--commands", type=int, default=200)
    args = parser.parse_args()

    spent = collection_cpu_ms(50)
    per_collection = statistics.median(spent)
    share = per_collection / 1000 / INTERVAL_S * 100
    print(f"health collection (Pi source, vcgencmd and iw run), {len(spent)} collections:")
    print(f"  CPU per collection   p50 {per_collection:.2f} ms, max {max(spent):.2f} ms")
    print(f"  at one every {INTERVAL_S:g} s  {share:.3f} % of a core   (target <= 0.5 %)")

    on_idle, on = daemon_figures(True, args.idle_s, args.commands)
    off_idle, off = daemon_figures(False, args.idle_s, args.commands)
    print(f"daemon, {args.idle_s:g} s idle, then {args.commands} sparse MQTT commands:")
    print(f"  {'':<28} {'health on':>10} {'health off':>11}   target")
    print(f"  {'idle CPU (% of a core)':<28} {on_idle:>10.2f} {off_idle:>11.2f}   on <= 1 %")
    for q in (50, 99):
        row = f"command -> motor p{q} (ms)"
        target = "on within noise of off" if q == 50 else ""
        print(f"  {row:<28} {percentile(on, q):>10.3f} {percentile(off, q):>11.3f}   {target}")


if __name__ == "__main__":
    main()

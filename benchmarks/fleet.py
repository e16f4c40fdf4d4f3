"""What a simulated fleet costs at rest: `robot sim --robots N` idle, CPU of its whole process
tree (the simulator's own process with the front and the video services, mosquitto, and each
robot's daemon and video producer), as a fraction of one core.

    .venv/bin/python benchmarks/fleet.py [--robots 10] [--seconds 20]

Idle: every robot connected and reporting telemetry every 200 ms, every producer ready on its
signaling channel, no viewer and no command. Target: under 30 % of one core in total for 10.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.proc import stat_cpu_seconds, stat_fields

TARGET_PERCENT = 30.0
SETTLE_S = 10.0  # past the start: producers connecting, first key frames, imports
START_TIMEOUT_S = 180.0


def process_tree(root: int) -> dict[int, tuple[str, float]]:
    """Every live process under ``root`` (itself included): pid -> (kind, CPU seconds)."""
    parents: dict[int, int] = {}
    stats: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile
            continue
        fields = stat_fields(stat)
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        cpu = stat_cpu_seconds(fields)
        stats[pid] = (_kind(command), cpu)
    tree = {root}
    grew = True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in tree} - tree
        grew = bool(children)
        tree |= children
    return {pid: stats[pid] for pid in tree if pid in stats}


def _kind(command: list[bytes]) -> str:
    text = b" ".join(command).decode(errors="replace")
    for marker, kind in (
        ("robot.producer", "producers"),
        (" run --config", "daemons"),
        ("mosquitto", "mosquitto"),
    ):
        if marker in text:
            return kind
    return "simulator"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--robots", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    robot = Path(sys.executable).with_name("robot")
    with tempfile.TemporaryDirectory() as folder:
        command = [str(robot), "sim", "--robots", str(args.robots), "--port", "0"]
        log = Path(folder) / "sim.log"
        with log.open("wb") as output:  # a pipe nobody reads would fill and stall it
            sim = subprocess.Popen(
                [*command, "--state-dir", str(Path(folder) / "state")],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            started = time.monotonic()
            while "Ctrl-C stops everything" not in log.read_text(errors="replace"):
                if sim.poll() is not None or time.monotonic() - started > START_TIMEOUT_S:
                    sys.exit(f"robot sim did not start:\n{log.read_text(errors='replace')}")
                time.sleep(0.2)
            up_s = time.monotonic() - started
            time.sleep(SETTLE_S)
            before = process_tree(sim.pid)
            time.sleep(args.seconds)
            after = process_tree(sim.pid)
        finally:
            os.kill(sim.pid, signal.SIGINT)
            sim.wait(60)
    used: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for pid, (kind, cpu) in after.items():
        used[kind] += cpu - before.get(pid, (kind, 0.0))[1]
        counts[kind] += 1
    total = sum(used.values()) / args.seconds * 100
    print(f"robot sim --robots {args.robots}: up in {up_s:.1f} s; idle for {args.seconds:g} s:")
    for kind in ("simulator", "mosquitto", "daemons", "producers"):
        share = used[kind] / args.seconds * 100
        print(f"  {kind:<10} ({counts[kind]:2d} processes) {share:6.1f} % of a core")
    verdict = "ok" if total < TARGET_PERCENT else "OVER"
    print(f"  total                     {total:6.1f} %   target < {TARGET_PERCENT:g} %  {verdict}")


if __name__ == "__main__":
    main()

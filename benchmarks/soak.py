"""Memory over a long run: `robot sim` and its daemon, driven at 10 Hz through POST /publish.

    .venv/bin/python benchmarks/soak.py              # 10 minutes
    .venv/bin/python benchmarks/soak.py --minutes 1

Starts `robot sim` as a user would (its own process, its own daemon child), drives it with a
held key's rhythm, and prints each process's resident memory at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.proc import rss_mb  # noqa: E402

ROBOT_SIM = [sys.executable, "-m", "robot.cli", "sim"]
RATE_HZ = 10
WARM_UP_S = 10
# Growth that would be a leak: a queue nobody drains grows by MBs over 10 minutes.
ALLOWED_GROWTH_MB = 2.0


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def daemon_of(sim_pid: int) -> int:
    for pid in children(sim_pid):
        if "run" in Path(f"/proc/{pid}/cmdline").read_text().split("\0"):
            return pid
    raise RuntimeError("robot sim has no daemon")


def drive(url: str, authorization: str, seconds: float) -> int:
    """POST forward at RATE_HZ for ``seconds``; the number of commands that were not 200."""
    failures = 0
    start = time.monotonic()
    for n in range(int(seconds * RATE_HZ)):
        request = urllib.request.Request(
            url,
            data=json.dumps({"action": "forward" if n % 20 < 10 else "left"}).encode(),
            headers={"Content-Type": "application/json", "Authorization": authorization},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                failures += answer.status != 200
        except OSError:
            failures += 1
        time.sleep(max(0.0, start + (n + 1) / RATE_HZ - time.monotonic()))
    return failures


def wait_for_token(console: Path, sim: subprocess.Popen[bytes], timeout: float = 60) -> str:
    """The development token `robot sim` prints in its banner, once it is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and sim.poll() is None:
        found = re.search(r'-H "Authorization: (Bearer [^"]+)"', console.read_text())
        if found:
            return found.group(1)
        time.sleep(0.2)
    raise RuntimeError("robot sim did not start:\n" + console.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the run")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as state:
        # Its console goes to a file: a pipe nobody reads would fill and stop it.
        console = Path(state) / "console.txt"
        with console.open("w") as output:
            sim = subprocess.Popen(
                [*ROBOT_SIM, "--port", str(port), "--state-dir", state],
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        try:
            authorization = wait_for_token(console, sim)
            url = f"http://127.0.0.1:{port}/publish"
            drive(url, authorization, WARM_UP_S)
            daemon = daemon_of(sim.pid)
            start = {"robot sim": rss_mb(sim.pid), "daemon": rss_mb(daemon)}
            failures = drive(url, authorization, args.minutes * 60)
            end = {"robot sim": rss_mb(sim.pid), "daemon": rss_mb(daemon)}
        finally:
            sim.terminate()
            sim.wait(30)
    commands = int(args.minutes * 60 * RATE_HZ)
    print(f"Soak: {args.minutes:g} min at {RATE_HZ} Hz ({commands} commands, {failures} not 200)")
    for name in start:
        grown = end[name] - start[name]
        verdict = "ok" if grown <= ALLOWED_GROWTH_MB else "MISSED"
        print(
            f"  {name + ' RSS':<18} start {start[name]:6.1f} MB   end {end[name]:6.1f} MB   "
            f"growth {grown:+5.2f} MB   target <= {ALLOWED_GROWTH_MB:g} MB   {verdict}"
        )


if __name__ == "__main__":
    main()

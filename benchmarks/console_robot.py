"""The robot's side of the console: what one attached console costs the robot, and how fast a
command on the data channel comes back as actuated.

    .venv/bin/python benchmarks/console_robot.py

On the simulated stack, as `robot sim` runs it: an aiortc console (in this process, so its
CPU is not counted) watches the video and holds a key for ten seconds (a drive command every
100 ms on the data channel); the daemon's and the producer's CPU over that time, as fractions
of one core; then command → the state report that shows it applied, received back on the
data channel (a round trip: the one-way figure is below it). Each figure beside its target.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.proc import cpu_seconds
from benchmarks.sim_stack import percentile
from tests.support.datachannel import ConsolePeer
from tests.support.stack import RecordingStack

HOLD_S = 10
ROUND_TRIPS = 200


async def hold_key(console: ConsolePeer, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        console.send({"action": "drive", "linear": 0.4, "angular": 0.1, "ttl_ms": 300})
        await asyncio.sleep(0.1)


async def round_trips(console: ConsolePeer, count: int) -> list[float]:
    times = []
    for i in range(count):
        command_id = uuid.uuid4().hex[:12]
        linear = 0.3 if i % 2 else -0.3  # a change each time, so each is reported
        sent = time.monotonic()
        console.send({"action": "drive", "linear": linear, "angular": 0, "id": command_id})
        await console.next(
            lambda message, wanted=command_id: (message.get("command") or {}).get("id") == wanted
        )
        times.append((time.monotonic() - sent) * 1000)
        await asyncio.sleep(0.01)
    return times


async def measure(stack: RecordingStack, producer_pid: int) -> dict[str, float | list[float]]:
    assert stack.daemon is not None and stack.identity is not None
    daemon_pid = stack.daemon.pid
    async with ConsolePeer(stack.url, stack.identity.token) as console:
        assert (await console.hello())["type"] == "welcome"
        await asyncio.sleep(1)  # past the connection's start
        before = cpu_seconds(daemon_pid), cpu_seconds(producer_pid)
        await hold_key(console, HOLD_S)
        daemon_cpu = (cpu_seconds(daemon_pid) - before[0]) / HOLD_S * 100
        producer_cpu = (cpu_seconds(producer_pid) - before[1]) / HOLD_S * 100
        console.drain()
        trips = await round_trips(console, ROUND_TRIPS)
    return {"daemon": daemon_cpu, "producer": producer_cpu, "trips": trips}


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, RecordingStack(Path(folder), port=0) as stack:
        ready = stack.wait_for_telemetry(
            lambda message: (message.get("video") or {}).get("state") == "ready", 30
        )
        figures = asyncio.run(measure(stack, ready["video"]["pid"]))
    trips = figures["trips"]
    assert isinstance(trips, list)
    print(f"one console attached, holding a key ({HOLD_S} s, 10 Hz), video streaming:")
    print(f"  daemon CPU                      {figures['daemon']:6.1f} % of a core")
    print(f"  producer CPU (encodes 640x480)  {figures['producer']:6.1f} % of a core")
    print(f"data channel: command → applied, seen back on the channel ({ROUND_TRIPS} commands):")
    print(f"  round trip p50 {percentile(trips, 50):6.2f} ms   p99 {percentile(trips, 99):6.2f} ms")
    print(f"  one way (half) p50 {percentile(trips, 50) / 2:6.2f} ms   target p50 <= 10 ms")


if __name__ == "__main__":
    main()

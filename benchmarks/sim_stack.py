"""Latency, backlog, deadman, telemetry, memory and CPU figures of the whole simulated stack.

    .venv/bin/python benchmarks/sim_stack.py

Drives the stack `robot sim` runs (real broker with mutual TLS, real publish Lambda behind
the HTTP front, real daemon in its own process) and prints each figure next to its target.
Actuation time is when the daemon set the board: the ``t`` of the state report it makes
right after (same machine, same clock as the sender). Telemetry latency is from sending a
command to receiving the robot's report of it, as an operator watching the topic would.
"""

from __future__ import annotations

import queue
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.proc import cpu_seconds, rss_mb
from tests.support.http import post
from tests.support.stack import RecordingStack


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def actuation_of(stack: RecordingStack, command_id: str) -> float:
    report = stack.wait_for_telemetry(
        lambda m: (m.get("command") or {}).get("id") == command_id, timeout=5
    )
    return report["t"]


def http_command(stack: RecordingStack, action: str, **fields: object) -> tuple[str, float]:
    command_id = uuid.uuid4().hex[:12]
    sent = time.time()
    status, _, body = post(
        stack.url + "/publish", {"action": action, "id": command_id, **fields}, stack.auth_headers()
    )
    assert status == 200, body
    return command_id, sent


def publish_to_actuation(stack: RecordingStack, count: int = 300) -> list[float]:
    latencies = []
    for i in range(count):
        command_id, sent = http_command(stack, "forward" if i % 2 else "backwards", ttl_ms=200)
        latencies.append((actuation_of(stack, command_id) - sent) * 1000)
        time.sleep(0.01)
    return latencies


def mqtt_to_actuation(stack: RecordingStack, count: int = 300) -> list[float]:
    latencies = []
    for i in range(count):
        command_id = uuid.uuid4().hex[:12]
        action = "forward" if i % 2 else "backwards"
        sent = time.time()
        stack.publish_command(f'{{"action":"{action}","id":"{command_id}","ttl_ms":200}}'.encode())
        latencies.append((actuation_of(stack, command_id) - sent) * 1000)
        time.sleep(0.01)
    return latencies


def command_to_telemetry(stack: RecordingStack, count: int = 300) -> list[float]:
    """ms from publishing a command to receiving the telemetry report of it."""
    arrivals: queue.Queue[tuple[float, dict]] = queue.Queue()

    def arrived(message: dict) -> None:
        arrivals.put((time.perf_counter(), message))

    stack.telemetry_listeners.append(arrived)
    latencies = []
    try:
        for i in range(count):
            command_id = uuid.uuid4().hex[:12]
            action = "forward" if i % 2 else "backwards"
            sent = time.perf_counter()
            stack.publish_command(
                f'{{"action":"{action}","id":"{command_id}","ttl_ms":200}}'.encode()
            )
            while True:
                received, message = arrivals.get(timeout=5)
                if (message.get("command") or {}).get("id") == command_id:
                    latencies.append((received - sent) * 1000)
                    break
            time.sleep(0.01)
    finally:
        stack.telemetry_listeners.remove(arrived)
    return latencies


def burst_at_50hz(stack: RecordingStack, count: int = 50) -> float:
    """ms from sending the last of ``count`` commands at 50 Hz to its actuation."""
    stack.drain_telemetry()
    last_id, last_sent = "", 0.0
    start = time.monotonic()
    for i in range(count):
        last_id, last_sent = http_command(stack, "drive", linear=0.5, angular=(i % 10) / 20)
        time.sleep(max(0.0, start + (i + 1) / 50 - time.monotonic()))
    return (actuation_of(stack, last_id) - last_sent) * 1000


def held_key(stack: RecordingStack, ttl_ms: int, seconds: float = 3.0) -> tuple[int, float]:
    """Stream forward at 10 Hz, then nothing: (stops during the stream, ms to stop after)."""
    stack.drain_telemetry()
    last_sent = 0.0
    start = time.monotonic()
    for i in range(int(seconds * 10)):
        _, last_sent = http_command(stack, "forward")
        time.sleep(max(0.0, start + (i + 1) / 10 - time.monotonic()))
    seen: list[dict] = []

    def expired(message: dict) -> bool:
        seen.append(message)
        return message.get("reason") == "expired"

    stopped = stack.wait_for_telemetry(expired, timeout=5)
    states = [m for m in seen[:-1] if m.get("type") == "state"]
    moving_from = next(m["t"] for m in states if m["wheels"]["left"] > 0)
    stutters = sum(1 for m in states if m["t"] >= moving_from and m["wheels"]["left"] == 0)
    return stutters, (stopped["t"] - last_sent) * 1000


def idle_cpu_percent(pid: int, seconds: float = 20.0) -> float:
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds * 100


def start_to_subscribed(stack: RecordingStack, runs: int = 5) -> list[float]:
    times = []
    for _ in range(runs):
        stack.stop_daemon()
        began = time.monotonic()
        stack.start_daemon()  # returns on the daemon's first report, sent once subscribed
        times.append(time.monotonic() - began)
    return times


def row(name: str, value: str, target: str, ok: bool) -> None:
    print(f"  {name:<56} {value:>10}   target {target:<12} {'ok' if ok else 'MISSED'}")


def main() -> None:
    with tempfile.TemporaryDirectory() as state, RecordingStack(Path(state), port=0) as stack:
        ttl = 500  # the daemon's default COMMAND_TTL_MS in the sim config
        warm_up(stack)
        print("Simulated stack, measured on this machine:")
        # (what, samples, {percentile: target in ms or None})
        publish_series = publish_to_actuation(stack)
        # One driver at a time: the token's operator lets go before the MQTT sender drives.
        http_command(stack, "release_control")
        series = [
            ("POST /publish -> actuation", publish_series, {50: None, 99: 10}),
            ("MQTT command -> actuation", mqtt_to_actuation(stack), {50: 1.5, 99: None}),
            (
                "command -> its telemetry received",
                command_to_telemetry(stack),
                {50: None, 90: None, 99: 10},
            ),
        ]
        for what, samples, targets in series:
            for q, target in targets.items():
                value = percentile(samples, q)
                row(
                    f"{what}, p{q}",
                    f"{value:.2f} ms",
                    "" if target is None else f"<= {target:g} ms",
                    target is None or value <= target,
                )
        stack.publish_command(b'{"action":"release_control"}')  # the MQTT sender lets go
        bursts = [burst_at_50hz(stack) for _ in range(5)]
        row(
            "50 commands at 50 Hz: last sent -> actuated, worst of 5",
            f"{max(bursts):.2f} ms",
            "<= 5 ms",
            max(bursts) <= 5,
        )
        stutters, stop_after = held_key(stack, ttl)
        row("forward at 10 Hz for 3 s: stops during stream", str(stutters), "0", stutters == 0)
        row(
            "  then stop after the last command",
            f"{stop_after:.0f} ms",
            f"<= {ttl + 50} ms",
            stop_after <= ttl + 50,
        )
        assert stack.daemon is not None
        pid = stack.daemon.pid
        rss = rss_mb(pid)
        row("daemon RSS", f"{rss:.1f} MB", "<= 50 MB", rss <= 50)
        idle = idle_cpu_percent(pid)
        row("daemon idle CPU (telemetry every 200 ms)", f"{idle:.2f} %", "<= 1 %", idle <= 1)
        starts = start_to_subscribed(stack)
        row(
            "daemon start -> subscribed, median of 5",
            f"{statistics.median(starts):.2f} s",
            "<= 1.5 s",
            statistics.median(starts) <= 1.5,
        )
        row("daemon start -> subscribed, worst of 5", f"{max(starts):.2f} s", "", True)


def warm_up(stack: RecordingStack) -> None:
    # Warm connections, the Lambda's client and the daemon's first-call paths.
    for _ in range(20):
        command_id, _ = http_command(stack, "stop")
        actuation_of(stack, command_id)


if __name__ == "__main__":
    main()

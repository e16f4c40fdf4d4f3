"""Live video figures of the simulated stack, as `robot sim` runs it, in headless Chromium.

    .venv/bin/python benchmarks/video.py

For 640x480 at 30 fps, H.264 then VP8: glass-to-glass latency (the time drawn into each frame
by the simulated camera, to the moment Chromium presents it: requestVideoFrameCallback's
expected display time, the strip read back from the frame), time from opening the page to its
first frame, the producer's CPU (fraction of one core) and RSS while streaming to one viewer,
and how long the video takes to come back after the producer is killed. Then MQTT-to-actuation
latency, without and during a producer crash loop. Each figure is printed beside its target.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.proc import cpu_seconds, rss_mb
from benchmarks.sim_stack import mqtt_to_actuation, percentile
from robot.cli.sim import viewer_url
from tests.support.browser import chromium
from tests.support.stack import RecordingStack

MEASURE_S = 10
COMMANDS = 600  # about ten seconds: several restarts of the crash loop


def producer(stack: RecordingStack) -> dict[str, Any]:
    stack.drain_telemetry()
    return stack.wait_for_telemetry(
        lambda m: (m.get("video") or {}).get("state") == "streaming", timeout=30
    )["video"]


def use_codec(stack: RecordingStack, codec: str) -> None:
    settings = json.loads(stack.config_path.read_text())
    settings["VIDEO_CODEC"] = codec
    stack.config_path.write_text(json.dumps(settings, indent=2))
    stack.stop_daemon()
    stack.start_daemon()
    # The robot is up with its video ready before anyone opens the page.
    stack.wait_for_telemetry(lambda m: (m.get("video") or {}).get("state") == "ready", 30)


def video_figures(stack: RecordingStack, browser: Any) -> dict[str, float]:
    page = browser.new_page()
    page.goto(viewer_url(stack))
    page.wait_for_function("window.robotViewer && window.robotViewer.frames > 0", timeout=30_000)
    first_frame_ms = page.evaluate("window.robotViewer.firstFrameMs")
    running = producer(stack)
    pid = running["pid"]
    cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
    result = page.evaluate(
        f"import('/latency.js').then(m => m.measure(document.getElementById('video'), {MEASURE_S}))"
    )
    cpu = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before)
    rss = rss_mb(pid)
    latencies = result["latencies"]
    joins = page.evaluate("window.robotViewer.joins")
    killed_at = time.time() * 1000
    os.kill(pid, signal.SIGKILL)
    page.wait_for_function(f"window.robotViewer.frameJoin > {joins}", timeout=60_000)
    back_ms = page.evaluate("window.robotViewer.joinFirstFrameWall") - killed_at
    page.close()
    return {
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "frames": len(latencies),
        "unreadable": result["unreadable"],
        "first_frame_s": first_frame_ms / 1000,
        "cpu": cpu,
        "rss": rss,
        "back_s": back_ms / 1000,
    }


def crash_loop(stack: RecordingStack, stop: threading.Event) -> None:
    """Kill every producer the supervisor starts, as soon as telemetry names it, until
    ``stop``: the supervisor's crash loop, backoff and all."""
    pids: queue.Queue[int] = queue.Queue()

    def listen(message: dict[str, Any]) -> None:
        pid = (message.get("video") or {}).get("pid")
        if pid:
            pids.put(pid)

    stack.telemetry_listeners.append(listen)
    killed: set[int] = set()
    try:
        while not stop.is_set():
            with contextlib.suppress(queue.Empty):
                pid = pids.get(timeout=0.05)
                if pid not in killed:
                    killed.add(pid)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
    finally:
        stack.telemetry_listeners.remove(listen)
    print(f"  (the crash loop killed {len(killed)} producers)")


def row(name: str, value: str, target: str) -> None:
    print(f"  {name:<44} {value:>12}   target {target}")


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as state,
        RecordingStack(Path(state), port=0) as stack,
        chromium() as browser,
    ):
        for codec in ("h264", "vp8"):
            use_codec(stack, codec)
            figures = video_figures(stack, browser)
            print(f"\n{codec.upper()}, 640x480 at 30 fps, one viewer (headless Chromium)")
            row("glass to glass p50", f"{figures['p50']:.1f} ms", "<= 50 ms")
            row("glass to glass p95", f"{figures['p95']:.1f} ms", "<= 80 ms")
            row(
                "frames measured / strip unreadable",
                f"{figures['frames']} / {figures['unreadable']}",
                f"~{30 * MEASURE_S} / 0",
            )
            row("page open to first frame", f"{figures['first_frame_s']:.2f} s", "<= 1.5 s")
            row("producer CPU (fraction of one core)", f"{figures['cpu']:.2f}", "<= 0.4")
            row("producer RSS", f"{figures['rss']:.0f} MB", "<= 120 MB")
            row("video back after the producer is killed", f"{figures['back_s']:.2f} s", "<= 3 s")

        print("\nMQTT -> actuation, while the daemon supervises the producer")
        calm = mqtt_to_actuation(stack, COMMANDS)
        stop = threading.Event()
        killer = threading.Thread(target=lambda: crash_loop(stack, stop))
        killer.start()
        try:
            stormy = mqtt_to_actuation(stack, COMMANDS)
        finally:
            stop.set()
            killer.join()
        calm_p50, stormy_p50 = statistics.median(calm), statistics.median(stormy)
        change = (stormy_p50 - calm_p50) / calm_p50 * 100
        row("p50, producer streaming", f"{calm_p50:.2f} ms", "(reference)")
        row("p50, producer crash loop", f"{stormy_p50:.2f} ms", "(reference)")
        row("change in p50", f"{change:+.1f} %", "< 10 %")


if __name__ == "__main__":
    main()

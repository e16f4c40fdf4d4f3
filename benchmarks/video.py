"""Live video figures of the simulated stack, as `robot sim` runs it, in headless Chromium.

    .venv/bin/python benchmarks/video.py

For 640x480 at 30 fps, H.264 then VP8: glass-to-glass latency (the time drawn into each frame
by the simulated camera, to the moment Chromium presents it: requestVideoFrameCallback's
expected display time, the strip read back from the frame), time from opening the page to its
first frame, the producer's CPU (fraction of one core) and RSS while streaming to one viewer,
and how long the video takes to come back after the producer is killed. Then MQTT-to-actuation
latency, without and during a producer crash loop.

Then through a real TURN relay (as root: tests/support/netns.py), the real producer on the
robot's side of a namespaced network and a relay-only aiortc viewer on the other, coturn
alone between them: glass to glass (drawn to decoded by the viewer) at 0 % and 2 % loss,
the first frame, the time from the end of a 0.5 s blackout (the frames in flight, key frame
among them, lost) to a clean picture at 2 % loss, frames, stalls and bitrate under a 1 Mbit/s cap
(the test pattern with noise, which needs more than that), and the producer's CPU and RSS
with that viewer. Each figure is printed beside its target.

    .venv/bin/python benchmarks/video.py relay     # the relay figures alone
"""

from __future__ import annotations

import contextlib
import itertools
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
from tests.media.relay_network import Relayed, Watched, relayed
from tests.support.browser import chromium
from tests.support.stack import RecordingStack

MEASURE_S = 10
CLEAN = 0.03  # a frame this close to the drawn pattern is a clean picture (tests/media)
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


def watched(net: Relayed, seconds: float, during: Any = None) -> Watched:
    viewer = net.viewer(seconds)
    viewer.next(lambda line: '"frame"' in line, 30)
    if during is not None:
        during()
    viewer.wait(seconds + 30)
    return Watched.of(viewer)


def latencies(frames: list[tuple[int | None, float, float]]) -> list[float]:
    return [arrived - stamp for stamp, arrived, _ in frames if stamp]


def relay_figures() -> None:
    with tempfile.TemporaryDirectory() as folder, relayed(Path(folder)) as net:
        pid = net.producer.child.pid
        cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
        calm = watched(net, MEASURE_S)
        cpu = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before)
        rss = rss_mb(pid)
        net.net.loss("viewer", 2)
        lossy = watched(net, MEASURE_S)
        blackout: dict[str, float] = {}

        def black_out() -> None:
            time.sleep(3)  # a fixed schedule of network conditions
            net.net.loss("viewer", 100)
            time.sleep(0.5)
            net.net.loss("viewer", 2)
            blackout["end_ms"] = time.time() * 1000

        repaired = watched(net, MEASURE_S, black_out)
    with (
        tempfile.TemporaryDirectory() as folder,
        relayed(Path(folder), source_options={"noise": True}) as net,
    ):
        net.net.cap("robot", 1000)
        capped = watched(net, 25)
    print("\nThrough the TURN relay (coturn), 640x480 at 30 fps H.264, a relay-only aiortc viewer")
    for name, figures in (("0 % loss", calm), ("2 % loss", lossy)):
        values = latencies(figures.frames)
        target = "<= 50 ms" if figures is calm else "(reference)"
        row(f"glass to glass p50, {name}", f"{percentile(values, 50):.1f} ms", target)
        target = "<= 80 ms" if figures is calm else "<= 150 ms"
        row(f"glass to glass p95, {name}", f"{percentile(values, 95):.1f} ms", target)
    row("viewer start to first frame", f"{calm.first_frame_s():.2f} s", "<= 2 s")
    clean = repaired.clean_after(blackout["end_ms"], CLEAN)
    back = f"{(clean - blackout['end_ms']):.0f} ms" if clean else "never"
    row("blackout's end to a clean picture, 2 % loss", back, "<= 300 ms")
    settled = capped.since(capped.frames[0][1] + 5000)
    span_s = (settled[-1][1] - settled[0][1]) / 1000
    row("frames per second after 5 s, 1 Mbit/s cap", f"{len(settled) / span_s:.1f}", ">= 25")
    arrivals = itertools.pairwise(arrived for _, arrived, _ in capped.frames)
    stall_ms = max(later - earlier for earlier, later in arrivals if later >= settled[0][1])
    row("longest stall after 5 s, 1 Mbit/s cap", f"{stall_ms:.0f} ms", "(no multi-second)")
    kbit = capped.kbit_s(capped.frames[0][1] + 5000)
    row("received after 5 s, 1 Mbit/s cap", f"{kbit:.0f} kbit/s", "< 1000 kbit/s")
    late = capped.since(capped.frames[-1][1] - 8000)
    late_s = (late[-1][1] - late[0][1]) / 1000
    row("frames per second, last 8 s, 1 Mbit/s cap", f"{len(late) / late_s:.1f}", ">= 25")
    late_ms = percentile(latencies(late), 50)
    row("glass to glass p50, last 8 s, 1 Mbit/s cap", f"{late_ms:.0f} ms", "(reference)")
    row("producer CPU (fraction of one core)", f"{cpu:.2f}", "<= 0.4")
    row("producer RSS", f"{rss:.0f} MB", "<= 120 MB")


def main() -> None:
    if sys.argv[1:] == ["relay"]:
        relay_figures()
        return
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
    relay_figures()


if __name__ == "__main__":
    main()

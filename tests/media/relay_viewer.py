"""A relay-only KVS viewer as a process of its own, to run inside a network namespace
(tests/support/netns.py): joins, then prints one JSON line per event until ``--seconds``
pass:

- ``{"joined": s, "at": ms, "candidates": [types]}``: the answer is in, ``s`` seconds after
  the start, at the wall-clock time ``ms``; the types of the viewer's own candidates;
- ``{"frame": [stamp_ms, arrived_ms, damage]}``: each decoded frame, its drawn time, its
  arrival, and the share of its pixels that differ from the test pattern as drawn at that
  time (0 for a clean picture; a frame decoded from a lost reference shows the bar where it
  was before, or grey blocks);
- ``{"key_frame": [stamp_ms, arrived_ms]}``: after a decoded frame's line, if it was a key
  frame;
- ``{"received": [t_ms, bytes]}``: every half second, the bytes received so far (video and
  its RTCP).

    python -m tests.media.relay_viewer --control-plane URL --channel NAME --ca CA --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
from botocore.credentials import ReadOnlyCredentials

from robot.producer import testpattern
from robot.producer.timestamp import STRIP_HEIGHT
from tests.media.kvs_viewer import KvsViewer
from tests.support import tls
from tests.support.cloud_services import VIEWER_KEY
from tests.support.stamps import read_stamp

DIFFERENT = 48  # a channel this far off the drawn pattern is not coding noise


def say(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


def luma(frame: av.VideoFrame) -> np.ndarray:
    """The frame's luminance plane as it was decoded (no conversion: the viewer must keep up
    with 30 fps on a busy machine)."""
    plane = frame.planes[0]
    rows = np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)
    return rows[:, : frame.width]


def damage(picture: np.ndarray, stamp_ms: int | None) -> float:
    """The share of pixels below the timestamp strip whose luminance is unlike the pattern's
    drawn at ``stamp_ms`` (1.0 when the strip is unreadable)."""
    if stamp_ms is None:
        return 1.0
    # The pattern moves with the monotonic clock, the strip carries the wall clock.
    drawn_at = stamp_ms / 1000 - (time.time() - time.monotonic())
    expected = np.empty((*picture.shape, 3), np.uint8)
    testpattern.render(expected, drawn_at)
    # Every other row and column below the strip, and not the bottom quarter (where the noisy
    # pattern's noise is): enough to see a misplaced bar or a block.
    below = (slice(STRIP_HEIGHT * 2, picture.shape[0] * 3 // 4, 2), slice(None, None, 2))
    drawn = expected[below] @ np.array([0.299, 0.587, 0.114]) * 219 / 255 + 16  # BT.601
    return float((np.abs(picture[below] - drawn) > DIFFERENT).mean())


async def watch(args: argparse.Namespace) -> None:
    tls.trust(args.ca)
    credentials = ReadOnlyCredentials(*VIEWER_KEY, None)
    started = time.monotonic()
    async with KvsViewer(args.control_plane, args.channel, credentials, relay=True) as viewer:
        gatherer = viewer.pc.getTransceivers()[0].receiver.transport.transport.iceGatherer
        types = sorted({c.type for c in gatherer.getLocalCandidates()})
        joined = {"joined": time.monotonic() - started, "at": time.time() * 1000}
        say({**joined, "candidates": types})
        track = await asyncio.wait_for(asyncio.shield(viewer.track), args.seconds)

        async def frames() -> None:
            while True:
                frame = await track.recv()
                arrived = time.time() * 1000
                picture = luma(frame)
                stamp = read_stamp(picture[:STRIP_HEIGHT])
                say({"frame": [stamp, arrived, round(damage(picture, stamp), 4)]})
                if frame.key_frame:
                    say({"key_frame": [stamp, arrived]})

        async def received() -> None:
            while True:
                await asyncio.sleep(0.5)
                stats = await viewer.pc.getStats()
                total = sum(s.bytesReceived for s in stats.values() if s.type == "transport")
                say({"received": [time.time() * 1000, total]})

        tasks = [asyncio.create_task(work()) for work in (frames, received)]
        try:
            done, _ = await asyncio.wait(
                tasks, timeout=args.seconds, return_when=asyncio.FIRST_EXCEPTION
            )
            for task in done:
                task.result()  # a viewer that failed says why
        finally:
            for task in tasks:
                task.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--control-plane", required=True)
    parser.add_argument("--channel", required=True)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--ca", type=Path, required=True, help="the simulator's CA (wss://)")
    asyncio.run(watch(parser.parse_args()))


if __name__ == "__main__":
    main()

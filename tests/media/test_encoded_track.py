"""The path of already-encoded H.264 (picamera2's encoder on a Pi): packets handed over from
an encoder thread go to aiortc as they are and play at the other end; each viewer's queue
falls back to a key frame, never into the middle of a group of pictures.

libx264 through PyAV stands in for the Pi's encoder in the first test (the H.264 block and
libcamera exist only on a Pi); the packets take the same way as picamera2's:
``EncodedFeed.put`` from another thread, ``av.Packet`` into aiortc, no decode or re-encode.
The others feed the queues by hand, with an encoder that records what it was asked.
"""

from __future__ import annotations

import asyncio
import fractions
import threading
import time
from collections.abc import Callable

import av
import numpy as np
from aiortc import RTCPeerConnection, RTCRtpSender
from aiortc.rtp import unpack_remb_fci

from robot.contracts.video import SOFTWARE_RANGES, Bitrates
from robot.producer import encoded
from robot.producer.encoded import EncodedFeed
from robot.producer.feedback import remb_fci
from robot.producer.timestamp import stamp
from tests.support.stamps import read_stamp

BOUNDS = Bitrates(300_000, 2_000_000, 1_000_000)


class RecordingEncoder:
    """What the feed asked of its encoder."""

    def __init__(self) -> None:
        self.key_frames = 0
        self.bitrates: list[int] = []

    def force_key_frame(self) -> None:
        self.key_frames += 1

    def set_bitrate(self, bps: int) -> None:
        self.bitrates.append(bps)

    def close(self) -> None:
        pass


def encode_in_thread(feed: EncodedFeed, stop: threading.Event, fps: int = 30) -> None:
    """Stands in for picamera2's encoder thread: 640x480 H.264 with the time in each frame."""
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = 640, 480, "yuv420p"
    codec.time_base = fractions.Fraction(1, 1_000_000)
    codec.options = {"tune": "zerolatency", "repeat-headers": "1", "keyint": str(fps)}
    image = np.full((480, 640, 3), 90, np.uint8)
    while not stop.is_set():
        now_us = time.monotonic_ns() // 1000
        stamp(image, time.time_ns() // 1_000_000)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts, frame.time_base = now_us, codec.time_base
        for packet in codec.encode(frame):
            feed.put(bytes(packet), packet.is_keyframe, now_us)
        time.sleep(1 / fps)


async def test_encoded_packets_play_at_the_other_end() -> None:
    feed = EncodedFeed(BOUNDS)
    stop = threading.Event()
    encoder = threading.Thread(target=encode_in_thread, args=(feed, stop))
    sender, receiver = RTCPeerConnection(), RTCPeerConnection()
    try:
        track, _ = feed.subscribe()
        transceiver = sender.addTransceiver(track, direction="sendonly")
        transceiver.setCodecPreferences(
            [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType == "video/H264"]
        )
        arrived: asyncio.Future = asyncio.get_running_loop().create_future()
        receiver.on("track", arrived.set_result)
        await sender.setLocalDescription(await sender.createOffer())
        await receiver.setRemoteDescription(sender.localDescription)
        await receiver.setLocalDescription(await receiver.createAnswer())
        await sender.setRemoteDescription(receiver.localDescription)
        encoder.start()
        remote = await asyncio.wait_for(arrived, 10)
        stamps = []
        async with asyncio.timeout(20):
            while len(stamps) < 30:
                frame = await remote.recv()
                stamps.append(read_stamp(frame.to_ndarray(format="gray")))
    finally:
        stop.set()
        if encoder.is_alive():
            encoder.join()
        await sender.close()
        await receiver.close()
    assert None not in stamps and stamps == sorted(stamps) and stamps[-1] > stamps[0]


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.01)


async def sent(track: encoded.ViewerQueue) -> list[bytes]:
    """What the viewer's sender would take from its queue now."""
    taken = []
    while track._queue:
        taken.append(bytes(await track.recv()))
    return taken


async def test_a_new_viewer_starts_at_a_key_frame_and_asks_for_one() -> None:
    feed = EncodedFeed(BOUNDS)
    feed.encoder = camera = RecordingEncoder()
    feed._put(b"key", True, 0)
    feed._put(b"delta", False, 1)
    track, _ = feed.subscribe()
    await until(lambda: camera.key_frames == 1)  # once key frames are far enough apart
    feed._put(b"delta-2", False, 2)  # its reference went before the viewer came
    feed._put(b"key-2", True, 3)
    feed._put(b"delta-3", False, 4)
    assert await sent(track) == [b"key-2", b"delta-3"]
    assert track.dropped == 1


async def test_a_viewer_behind_drops_to_the_newest_key_frame_waiting() -> None:
    feed = EncodedFeed(BOUNDS, max_queued=4)
    feed.encoder = camera = RecordingEncoder()
    slow, _ = feed.subscribe()
    fast, _ = feed.subscribe()
    frames = [(b"key-1", True), (b"d1", False), (b"key-2", True), (b"d2", False), (b"d3", False)]
    taken = []
    for data, keyframe in frames:
        feed._put(data, keyframe, 0)
        taken += await sent(fast)  # this one keeps up
    # The slow one's queue was full at d3: what came before key-2 is gone, from it on is kept.
    assert await sent(slow) == [b"key-2", b"d2", b"d3"]
    assert taken == [data for data, _ in frames]
    assert (slow.dropped, fast.dropped) == (2, 0)
    assert camera.key_frames == 1  # the subscriptions' one: key-2 came before the second


async def test_a_viewer_behind_with_no_key_frame_waiting_waits_for_the_next() -> None:
    feed = EncodedFeed(BOUNDS, max_queued=3)
    feed.encoder = camera = RecordingEncoder()
    track, _ = feed.subscribe()
    feed._put(b"key", True, 0)
    asked = camera.key_frames
    for n in range(5):
        feed._put(b"delta", False, n)
    # Full at the third delta: the whole queue went (its only key frame was its first), and
    # nothing until a key frame.
    await until(lambda: camera.key_frames == asked + 1)
    feed._put(b"key-again", True, 9)
    feed._put(b"delta-after", False, 10)
    assert await sent(track) == [b"key-again", b"delta-after"]
    assert track.dropped == 6  # the key frame and two deltas waiting, three after


async def test_key_frame_requests_are_coalesced_and_spaced() -> None:
    feed = EncodedFeed(BOUNDS)
    feed.encoder = camera = RecordingEncoder()
    track, video = feed.subscribe()
    video.picture_lost()
    video.picture_lost()
    assert camera.key_frames == 1  # one asked for and not come yet: no second
    feed._put(b"key", True, 0)
    video.picture_lost()  # right after a key frame: asked for at the spacing, not at once
    assert camera.key_frames == 1
    await until(lambda: camera.key_frames == 2)
    assert time.monotonic() - feed._last_key_frame >= encoded.KEY_FRAME_SPACING_S
    track.stop()


async def test_the_encoder_follows_the_lowest_estimate_within_the_bounds() -> None:
    feed = EncodedFeed(BOUNDS)
    feed.encoder = camera = RecordingEncoder()
    (first, one), (second, two) = feed.subscribe(), feed.subscribe()
    assert one.estimate(1_500_000) == 1_500_000
    assert two.estimate(800_000) == 800_000
    assert one.estimate(50_000_000) == BOUNDS.high  # what aiortc is told: within the bounds
    assert two.estimate(10_000) == BOUNDS.low
    second.stop()  # the lowest left: the other one's estimate, held to the bounds
    assert camera.bitrates == [1_500_000, 800_000, BOUNDS.low, BOUNDS.high]
    assert feed.bitrate == BOUNDS.high
    first.stop()


def test_remb_never_rounds_a_bound_down() -> None:
    for bps in (300_000, 500_000, 2_999_999, 3_000_000, 25_000_000):
        carried, ssrcs = unpack_remb_fci(remb_fci(bps, [1234]))
        assert ssrcs == [1234] and bps <= carried < bps * 1.0001


def test_the_software_ranges_are_aiortcs() -> None:
    from aiortc.codecs import h264, vpx

    assert SOFTWARE_RANGES == {
        "h264": (h264.MIN_BITRATE, h264.MAX_BITRATE),
        "vp8": (vpx.MIN_BITRATE, vpx.MAX_BITRATE),
    }

"""The path of already-encoded H.264 (picamera2's encoder on a Pi): packets handed over from
an encoder thread go to aiortc as they are and play at the other end.

libx264 through PyAV stands in for the Pi's encoder here (the H.264 block and libcamera
exist only on a Pi); the packets take the same way as picamera2's: ``EncodedTrack.put`` from
another thread, ``av.Packet`` into aiortc, no decode or re-encode on the sender.
"""

from __future__ import annotations

import asyncio
import fractions
import threading
import time

import av
import numpy as np
from aiortc import RTCPeerConnection, RTCRtpSender

from robot.producer.picamera import MAX_QUEUED, EncodedTrack
from robot.producer.timestamp import stamp
from tests.support.stamps import read_stamp


def encode_in_thread(track: EncodedTrack, stop: threading.Event, fps: int = 30) -> None:
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
            track.put(bytes(packet), packet.is_keyframe, now_us)
        time.sleep(1 / fps)


async def test_encoded_packets_play_at_the_other_end() -> None:
    track = EncodedTrack()
    stop = threading.Event()
    encoder = threading.Thread(target=encode_in_thread, args=(track, stop))
    sender, receiver = RTCPeerConnection(), RTCPeerConnection()
    try:
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


async def test_a_backlog_is_dropped_up_to_the_next_key_frame() -> None:
    track = EncodedTrack()
    track._put(b"key", True, 0)
    for n in range(1, MAX_QUEUED + 3):  # nobody reads: the queue overflows
        track._put(b"delta", False, n)
    track._put(b"key-again", True, 999)
    track._put(b"delta-after", False, 1000)
    # What waited was dropped; nothing is sent until a key frame, which starts afresh.
    assert [bytes(await track.recv()) for _ in range(2)] == [b"key-again", b"delta-after"]

"""Video after loss, through our real signaling master and a real aiortc viewer on the
simulator's KVS signaling: the picamera2 source (robot/producer/picamera.py) on the fake
picamera2 (tests/support/fake_picamera2), which encodes real H.264, then the test pattern,
which aiortc encodes. A viewer's picture-loss request brings a key frame; its estimate sets the
camera's encoder's bitrate within the bounds; a viewer that falls behind starts again at a key
frame while another loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from robot.contracts.video import bitrates
from robot.producer import picamera, testpattern
from robot.producer.encoded import EncodedFeed
from robot.producer.feeds import feed
from tests.media.kvs_viewer import KvsViewer
from tests.support import key_frames as kf

OPTIONS = {"min_bitrate": 400_000, "max_bitrate": 2_000_000, "bitrate": 1_000_000}


@asynccontextmanager
async def camera() -> AsyncIterator[tuple[Any, EncodedFeed, str, Any]]:
    """The picamera2 source on the fake, served: its fake encoder, the feed, the control
    plane's URL and the master."""
    with kf.fake_picamera2() as fake:
        video = picamera.create(dict(OPTIONS))
        async with kf.serving(video) as (url, master):
            yield fake.cameras[-1].encoder, video, url, master


async def abandon(viewer: KvsViewer, joining: asyncio.Task[Any]) -> None:
    """Close a viewer whose joining may not have finished."""
    joining.cancel()
    await asyncio.gather(joining, return_exceptions=True)
    await viewer.pc.close()
    for part in ("ws", "http"):
        if hasattr(viewer, part):
            await getattr(viewer, part).close()


def nal_types(payload: bytes) -> set[int]:
    """The H.264 NAL unit types an RTP payload (RFC 6184) carries or starts."""
    kind = payload[0] & 0x1F
    if kind == 28:  # FU-A: one unit in pieces
        return {payload[1] & 0x1F}
    if kind != 24:  # a single unit
        return {kind}
    types, at = set(), 1  # STAP-A: units, each after its 16-bit size
    while at + 2 < len(payload):
        size = int.from_bytes(payload[at : at + 2], "big")
        types.add(payload[at + 2] & 0x1F)
        at += 2 + size
    return types


async def test_the_pis_encoder_is_set_to_the_profile_the_answer_offers() -> None:
    async with (
        camera() as (encoder, _, url, _master),
        KvsViewer(url, kf.THING, kf.VIEWER_KEYS) as viewer,
    ):
        frame, _, _ = await kf.next_key_frame(viewer)
    assert encoder.profile == "constrained baseline" and encoder.repeat
    assert viewer.codec == "H264" and kf.stamp_of(frame) is not None


async def test_a_picture_loss_request_brings_a_key_frame_from_the_camera() -> None:
    async with (
        camera() as (encoder, _video, url, master),
        KvsViewer(url, kf.THING, kf.VIEWER_KEYS) as viewer,
    ):
        await kf.quiet(viewer, 5)
        forced = len(encoder.forced_stamps)
        await kf.send_pli(master, viewer)
        frame, _, _ = await kf.next_key_frame(viewer)
    # The key frame the viewer decodes is the one the camera was asked for (its time drawn in).
    assert len(encoder.forced_stamps) > forced
    assert kf.stamp_of(frame) in encoder.forced_stamps[forced:]


async def test_the_viewers_estimate_sets_the_cameras_bitrate_within_the_bounds() -> None:
    low, high = OPTIONS["min_bitrate"], OPTIONS["max_bitrate"]
    async with (
        camera() as (encoder, _video, url, master),
        KvsViewer(url, kf.THING, kf.VIEWER_KEYS) as viewer,
    ):
        await kf.next_key_frame(viewer)
        applied = encoder.bitrates_applied
        below_the_floor, above_the_ceiling = 50_000, 40_000_000
        await kf.estimate_until(master, viewer, below_the_floor, lambda: low in applied)
        await kf.estimate_until(master, viewer, above_the_ceiling, lambda: high in applied)
        await kf.estimate_until(master, viewer, 900_000, lambda: 900_000 in applied)
    assert all(low <= bps <= high for bps in applied)


async def test_a_viewer_behind_starts_again_at_a_key_frame_and_the_other_loses_nothing() -> None:
    async with (
        camera() as (_, video, url, _master),
        KvsViewer(url, kf.THING, kf.VIEWER_KEYS) as fast,
    ):
        await kf.next_key_frame(fast)
        [fast_queue] = video.viewers
        # A viewer whose sender takes nothing for a while: one slow to connect. Its queue
        # fills and falls back while the first one's sender keeps taking.
        slow = KvsViewer(url, kf.THING, kf.VIEWER_KEYS)
        answer, held = slow.pc.setRemoteDescription, asyncio.Event()

        async def apply_when_let(description: Any) -> None:
            await held.wait()
            await answer(description)

        slow.pc.setRemoteDescription = apply_when_let
        joining = asyncio.create_task(slow.__aenter__())
        try:
            await kf.until(lambda: len(video.viewers) == 2)
            [slow_queue] = video.viewers - {fast_queue}
            await kf.until(lambda: slow_queue.dropped > 2 * video.max_queued)
            first: list[set[int]] = []
            receiver = slow.pc.getReceivers()[0]
            handle = receiver._handle_rtp_packet

            async def record(packet: Any, arrival_time_ms: int) -> None:
                first.append(nal_types(packet.payload)) if not first else None
                await handle(packet, arrival_time_ms)

            receiver._handle_rtp_packet = record
            held.set()
            await joining
            frames = await slow.frames(10)
            fast_frames = await fast.frames(10)
        finally:
            await abandon(slow, joining)
    # Its first packet starts a key frame (SPS, PPS, IDR), not a frame whose reference went.
    assert first and first[0] & {5, 7}
    for got in (frames, fast_frames):  # whole pictures, in order
        stamps = [frame.stamp_ms for frame in got]
        assert None not in stamps and stamps == sorted(stamps)
    assert slow_queue.dropped > 2 * video.max_queued and fast_queue.dropped < slow_queue.dropped
    print(
        "DEBUG",
        fast_queue.dropped,
        slow_queue.dropped,
        [f.stamp_ms for f in fast_frames],
        [f.stamp_ms for f in frames],
    )


async def test_a_picture_loss_request_brings_a_key_frame_from_aiortcs_encoder() -> None:
    options = {"min_bitrate": 600_000, "max_bitrate": 2_000_000}
    video = feed(testpattern.create({}), bitrates("testpattern", "h264", options))
    async with (
        kf.serving(video) as (url, master),
        KvsViewer(url, kf.THING, kf.VIEWER_KEYS) as viewer,
    ):
        await kf.quiet(viewer, 30)  # x264's own key frames are 250 frames apart
        await kf.send_pli(master, viewer)
        _, _, skipped = await kf.next_key_frame(viewer, limit=30)
    assert skipped < 30


async def test_aiortcs_encoder_follows_the_estimate_within_the_configured_bounds() -> None:
    options = {"min_bitrate": 600_000, "max_bitrate": 2_000_000}
    video = feed(testpattern.create({}), bitrates("testpattern", "h264", options))
    async with (
        kf.serving(video) as (url, master),
        KvsViewer(url, kf.THING, kf.VIEWER_KEYS) as viewer,
    ):
        await kf.next_key_frame(viewer)
        sender = master.peers[viewer.client_id].pc.getSenders()[0]

        def target() -> int:  # what aiortc's own encoder of this sender aims at
            return sender._RTCRtpSender__encoder.target_bitrate

        # aiortc alone would hold these to its own 500000..3000000.
        await kf.estimate_until(master, viewer, 50_000, lambda: target() == options["min_bitrate"])
        await kf.estimate_until(
            master, viewer, 40_000_000, lambda: target() == options["max_bitrate"]
        )


async def test_a_viewer_that_never_connects_leaves_no_queue_behind() -> None:
    async with camera() as (_, video, url, master):
        viewer = KvsViewer(url, kf.THING, kf.VIEWER_KEYS)
        never = asyncio.Event()

        async def withhold(description: Any) -> None:
            await never.wait()

        viewer.pc.setRemoteDescription = withhold
        joining = asyncio.create_task(viewer.__aenter__())
        try:
            await kf.until(lambda: len(video.viewers) == 1 and viewer.client_id in master.peers)
            await master.peers[viewer.client_id].close()  # as the master's sweep closes it
            assert not video.viewers
        finally:
            await abandon(viewer, joining)

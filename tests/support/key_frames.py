"""Our real signaling master (robot/producer/master.py) in this process, on the simulator's KVS
signaling service, with aiortc viewers that can ask for key frames and report estimates as a
browser does: for the tests and the benchmark of video after loss."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci
from botocore.credentials import Credentials, ReadOnlyCredentials

from robot.producer.feeds import VideoFeed
from robot.producer.kvs import SignalingChannel
from robot.producer.master import Master
from sim.aws.certs import make_certs
from sim.aws.kvs_signaling import MASTER_ACTIONS, VIEWER_ACTIONS, KvsSignalingService, Permissions
from sim.aws.sigv4 import CredentialStore
from tests.support import tls
from tests.support.stamps import read_stamp

THING = "keyframebot"
REGION = "us-east-1"
VIEWER_KEYS = ReadOnlyCredentials("AKIDVIEWER", "viewer-secret", None)
MASTER_KEYS = ("AKIDROBOT", "robot-secret")
FAKE_PICAMERA2 = Path(__file__).parent / "fake_picamera2"


@contextmanager
def fake_picamera2() -> Iterator[ModuleType]:
    """``import picamera2`` finds the fake (tests/support/fake_picamera2) for the block."""
    sys.path.insert(0, str(FAKE_PICAMERA2))
    try:
        import picamera2

        yield picamera2
    finally:
        sys.path.remove(str(FAKE_PICAMERA2))
        for name in [name for name in sys.modules if name.split(".")[0] == "picamera2"]:
            del sys.modules[name]


@asynccontextmanager
async def serving(video: VideoFeed, codec: str = "h264") -> AsyncIterator[tuple[str, Master]]:
    """The master serving ``video`` on a local signaling service: its control plane's URL and
    the master, once it is ready."""
    store = CredentialStore()
    store.add_static(*VIEWER_KEYS[:2], "viewer", Permissions(VIEWER_ACTIONS))
    store.add_static(*MASTER_KEYS, "robot", Permissions(MASTER_ACTIONS, THING))
    with tempfile.TemporaryDirectory() as folder:
        certs = make_certs(Path(folder), THING)
        tls.trust(certs.ca)  # the viewers' wss://
        async with KvsSignalingService(store, certs.server, region=REGION, channels=[THING]) as kvs:
            channel = SignalingChannel(
                THING, REGION, Credentials(*MASTER_KEYS), kvs.url, root_ca=certs.ca
            )
            async with _serving(channel, video, codec) as master:
                yield kvs.url, master


@asynccontextmanager
async def _serving(
    channel: SignalingChannel, video: VideoFeed, codec: str
) -> AsyncIterator[Master]:
    """The master on ``channel``, once it is ready."""
    ready = asyncio.Event()
    master = Master(
        channel, video, codec, lambda kind, _: kind == "ready" and ready.set(),
        loopback_candidates=True,
    )  # fmt: skip
    task = asyncio.create_task(master.serve())
    try:
        await asyncio.wait_for(ready.wait(), 30)
        yield master
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        video.stop()


def sender_ssrc(master: Master, viewer: Any) -> int:
    """The SSRC the master sends this viewer's video with."""
    return master.peers[viewer.client_id].pc.getSenders()[0]._ssrc


async def send_pli(master: Master, viewer: Any) -> None:
    """A picture-loss indication from the viewer, as aiortc's receiver sends one on loss."""
    receiver = viewer.pc.getReceivers()[0]
    await receiver._send_rtcp_pli(sender_ssrc(master, viewer))


async def send_remb(master: Master, viewer: Any, bps: int) -> None:
    """A receiver estimate from the viewer, as a browser's REMB."""
    receiver = viewer.pc.getReceivers()[0]
    fci = pack_remb_fci(bps, [sender_ssrc(master, viewer)])
    await receiver._send_rtcp(RtcpPsfbPacket(RTCP_PSFB_APP, 1, 0, fci))


async def estimate_until(
    master: Master, viewer: Any, bps: int, condition: Callable[[], bool], timeout: float = 20
) -> None:
    """Send the estimate ``bps`` until ``condition`` holds: again and again, as a browser
    does, since the viewer's own estimates go out between ours."""
    async with asyncio.timeout(timeout):
        while not condition():
            await send_remb(master, viewer, bps)
            await asyncio.sleep(0.05)


async def next_key_frame(
    viewer: Any, limit: int = 90, timeout: float = 20
) -> tuple[Any, float, int]:
    """The next key frame the viewer decodes (within ``limit`` frames): the frame, the
    monotonic time it was decoded, how many frames came before it."""
    track = await asyncio.wait_for(asyncio.shield(viewer.track), timeout)
    async with asyncio.timeout(timeout):
        for skipped in range(limit):
            frame = await track.recv()
            if frame.key_frame:
                return frame, time.monotonic(), skipped
    raise AssertionError(f"no key frame within {limit} frames")


async def quiet(viewer: Any, frames: int = 30, timeout: float = 30) -> None:
    """Until ``frames`` frames in a row came with no key frame among them."""
    track = await asyncio.wait_for(asyncio.shield(viewer.track), timeout)
    run = 0
    async with asyncio.timeout(timeout):
        while run < frames:
            run = 0 if (await track.recv()).key_frame else run + 1


async def pli_to_key_frame(master: Master, viewer: Any) -> float:
    """Seconds from a PLI the viewer sends to the key frame it decodes next."""
    await quiet(viewer, 10)
    asked = time.monotonic()
    await send_pli(master, viewer)
    _, decoded, _ = await next_key_frame(viewer)
    return decoded - asked


def stamp_of(frame: Any) -> int | None:
    return read_stamp(frame.to_ndarray(format="gray"))


async def until(condition: Callable[[], bool], timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)

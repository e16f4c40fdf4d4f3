"""Our producer end to end: the real ``python -m robot.producer`` under the media
supervisor, credentials from the simulator's IoT credentials provider (mutual TLS), the
simulator's KVS signaling service (which checks every SigV4 signature), and an aiortc viewer
in the test that joins the channel as AWS's viewers do."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import numpy as np
import pytest
from aiortc import RTCPeerConnection
from botocore.credentials import ReadOnlyCredentials

from robot.daemon import config, producers
from robot.daemon.supervisor import MediaSupervisor, ProducerSpec, Timing
from robot.producer.master import SWEEP_S
from robot.producer.slots import SlotLimits
from sim.aws.certs import SimCerts, make_certs
from sim.aws.credentials_provider import CredentialsProvider
from sim.aws.kvs_signaling import (
    DEFAULT_LIMITS,
    MASTER_ACTIONS,
    VIEWER_ACTIONS,
    KvsSignalingService,
    Limits,
    Permissions,
)
from sim.aws.sigv4 import CredentialStore
from sim.robot.board import SimMotors
from tests.media.conftest import Watcher
from tests.media.kvs_viewer import Frame, KvsViewer, viewer_url
from tests.support import tls
from tests.support.datachannel import Refused

THING = "camerabot"
ROLE_ALIAS = "camerabot-camera"
REGION = "us-east-1"
VIEWER_KEYS = ReadOnlyCredentials("AKIDVIEWER", "viewer-secret", None)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> SimCerts:
    return make_certs(tmp_path_factory.mktemp("media-certs"), THING)


def producer_spec(
    certs: SimCerts,
    provider: str,
    control_plane: str,
    source: str,
    options: dict,
    codec: str,
    settings: dict | None = None,
) -> ProducerSpec:
    """Our producer as the daemon starts it, from a robot config for the local services."""
    folder = certs.ca.parent
    path = folder / f"config-{source}-{codec}.json"
    settings = {
        "IOT_THINGNAME": THING,
        "IOT_CORE_ENDPOINT": "localhost",
        "IOT_GET_CREDENTIAL_ENDPOINT": provider,
        "ROLE_ALIAS": ROLE_ALIAS,
        "AWS_DEFAULT_REGION": REGION,
        "KVS_ENDPOINT_URL": control_plane,
        "ROOT_CA_PATH": str(certs.ca),
        "CERTIFICATE_PATH": str(certs.robot.cert),
        "PRIVATE_KEY_PATH": str(certs.robot.key),
        "MOTOR_DRIVER": "sim",
        "VIDEO_SOURCE": source,
        "VIDEO_OPTIONS": options,
        "VIDEO_CODEC": codec,
        **(settings or {}),
    }
    path.write_text(json.dumps(settings))
    return producers.producer_spec(config.load(path))


@asynccontextmanager
async def local_services(
    certs: SimCerts, channels: tuple[str, ...] = (THING,), limits: Limits = DEFAULT_LIMITS
) -> AsyncIterator[tuple[KvsSignalingService, str]]:
    """The local signaling service and IoT credentials provider (its ``host:port``);
    ``channels``: those that exist from the start."""
    tls.trust(certs.ca)
    store = CredentialStore()
    store.add_static(*VIEWER_KEYS[:2], "viewer", Permissions(VIEWER_ACTIONS))
    grants = {ROLE_ALIAS: lambda thing: Permissions(MASTER_ACTIONS, thing)}
    async with (
        KvsSignalingService(
            store, certs.server, region=REGION, channels=channels, limits=limits
        ) as kvs,
        CredentialsProvider(
            store, grants, ca=certs.ca, server_cert=certs.server.cert, server_key=certs.server.key
        ) as provider,
    ):
        yield kvs, f"localhost:{provider.port}"


@asynccontextmanager
async def producing(
    certs: SimCerts,
    kvs: KvsSignalingService,
    provider: str,
    source: str = "testpattern",
    options: dict | None = None,
    codec: str = "h264",
    settings: dict | None = None,
) -> AsyncIterator[Watcher]:
    """A supervised producer that has reported ready; ``settings``: config.json keys more."""
    watcher = Watcher()
    spec = producer_spec(certs, provider, kvs.url, source, options or {}, codec, settings)
    async with MediaSupervisor(spec, Timing(ready_timeout_s=30), on_change=watcher):
        await watcher.until(lambda s: s["state"] == "ready", timeout=30)
        yield watcher


@asynccontextmanager
async def streaming(
    certs: SimCerts,
    source: str = "testpattern",
    options: dict | None = None,
    codec: str = "h264",
    channels: tuple[str, ...] = (THING,),
    limits: Limits = DEFAULT_LIMITS,
    settings: dict | None = None,
) -> AsyncIterator[tuple[KvsSignalingService, Watcher]]:
    """The local AWS services and a supervised producer that has reported ready."""
    async with (
        local_services(certs, channels, limits) as (kvs, provider),
        producing(certs, kvs, provider, source, options, codec, settings) as watcher,
    ):
        yield kvs, watcher


async def test_frames_arrive_with_increasing_timestamps(certs: SimCerts) -> None:
    async with (
        streaming(certs) as (kvs, watcher),
        KvsViewer(kvs.url, THING, VIEWER_KEYS) as viewer,
    ):
        frames = await viewer.frames(30)
        streaming_status = await watcher.until(lambda s: s["state"] == "streaming")
    assert viewer.codec == "H264"
    stamps = [frame.stamp_ms for frame in frames]
    assert None not in stamps, "every frame's timestamp strip is readable"
    assert stamps == sorted(stamps) and stamps[-1] > stamps[0]
    now = time.time() * 1000
    assert all(now - 30_000 < stamp <= now for stamp in stamps)
    assert frames[0].image.shape == (480, 640, 3)
    assert streaming_status["viewers"] == 1


async def test_several_viewers_at_once_and_vp8(certs: SimCerts) -> None:
    async with streaming(certs, codec="vp8") as (kvs, watcher):
        async with (
            KvsViewer(kvs.url, THING, VIEWER_KEYS) as first,
            KvsViewer(kvs.url, THING, VIEWER_KEYS) as second,
        ):
            await watcher.until(lambda s: s["viewers"] == 2)
            one, two = await first.frames(5), await second.frames(5)
        await watcher.until(lambda s: s["viewers"] == 0 and s["state"] == "ready")
    assert first.codec == second.codec == "VP8"
    assert all(frame.stamp_ms for frame in one + two)


async def test_go_away_reconnects_and_keeps_the_viewer(certs: SimCerts) -> None:
    async with (
        streaming(certs) as (kvs, watcher),
        KvsViewer(kvs.url, THING, VIEWER_KEYS) as viewer,
    ):
        await viewer.frames(3)
        await kvs.go_away(THING)  # closes the sockets; the peer connection lives on
        assert not kvs.connected(THING)[0]
        later = await viewer.frames(10)
        async with asyncio.timeout(10):
            while not kvs.connected(THING)[0]:
                await asyncio.sleep(0.05)
    assert all(frame.stamp_ms for frame in later)
    pids = {status["pid"] for status in watcher.history if status["pid"]}
    assert len(pids) == 1 and watcher.history[-1]["restarts"] == 0, "no restart was needed"


async def test_the_sim_camera_shows_the_simulated_robot_driving(
    certs: SimCerts, tmp_path: Path
) -> None:
    state = tmp_path / "wheels.json"
    board = SimMotors(state_file=str(state))
    async with (
        streaming(certs, "sim", {"state_file": str(state)}) as (kvs, _),
        KvsViewer(kvs.url, THING, VIEWER_KEYS) as viewer,
    ):
        still = await viewer.frames(10)
        board.drive(0.6, 0.6)
        await asyncio.sleep(1.0)
        moving = await viewer.frames(10)
        board.stop()
    board.close()

    def floor_change(a: Frame, b: Frame) -> float:
        floor = slice(240, 480)
        diff = np.abs(a.image[floor].astype(int) - b.image[floor].astype(int)).max(axis=2)
        return float((diff > 40).mean())

    # Standing still, only coding noise changes; driving, the floor grid slides by.
    assert floor_change(still[2], still[-1]) < 0.01
    assert floor_change(still[-1], moving[-1]) > 0.05
    assert floor_change(moving[0], moving[-1]) > 0.02


async def test_a_fleet_robot_creates_its_channel_and_streams(certs: SimCerts) -> None:
    async with (
        streaming(certs, channels=()) as (kvs, watcher),
        KvsViewer(kvs.url, THING, VIEWER_KEYS) as viewer,
    ):
        frames = await viewer.frames(5)
    info = kvs.channels[THING].info()
    assert (info["ChannelType"], info["ChannelStatus"]) == ("SINGLE_MASTER", "ACTIVE")
    assert all(frame.stamp_ms for frame in frames)
    assert watcher.history[-1]["restarts"] == 0, "no restart was needed to create it"


async def test_a_viewer_that_comes_first_gets_video_once_the_producer_starts(
    certs: SimCerts,
) -> None:
    async with local_services(certs) as (kvs, provider):
        viewer = KvsViewer(kvs.url, THING, VIEWER_KEYS, answer_timeout=60)
        joining = asyncio.create_task(viewer.__aenter__())
        async with asyncio.timeout(15):  # its offer waits in the channel: no master yet
            while not kvs.channels[THING].queued:
                await asyncio.sleep(0.05)
        try:
            async with producing(certs, kvs, provider):
                await joining  # its one offer, sent before the producer started, answered
                frames = await viewer.frames(5)
        finally:
            await viewer.__aexit__()
    assert all(frame.stamp_ms for frame in frames)


async def vanishing_viewer(kvs: KvsSignalingService, number: int) -> None:
    """A viewer that sends its offer (every candidate in it, and their end) and vanishes
    without a word: its ports closed, its signaling socket dropped."""
    url = await asyncio.to_thread(
        viewer_url, kvs.url, THING, VIEWER_KEYS, REGION, f"vanished-{number}"
    )
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    offer = {"type": "offer", "sdp": pc.localDescription.sdp}
    await pc.close()
    payload = base64.b64encode(json.dumps(offer).encode()).decode()
    async with aiohttp.ClientSession() as http, http.ws_connect(url, ssl=tls.context()) as ws:
        await ws.send_json({"action": "SDP_OFFER", "messagePayload": payload})


RETRY_S = 0.5  # how soon the eleventh viewer tries again after a refusal


async def test_ten_vanished_viewers_keep_the_eleventh_out_for_at_most_30_s(
    certs: SimCerts,
) -> None:
    async with streaming(certs) as (kvs, _):
        await asyncio.gather(*(vanishing_viewer(kvs, number) for number in range(10)))
        vanished = time.monotonic()
        refusals: list[float] = []  # when the robot said every slot was taken
        while True:
            assert time.monotonic() - vanished < 60, "the eleventh viewer never got in"
            try:
                async with KvsViewer(kvs.url, THING, VIEWER_KEYS) as viewer:
                    frames = await viewer.frames(3)
                    break
            except Refused:
                refusals.append(time.monotonic() - vanished)
                await asyncio.sleep(RETRY_S)
        watching = time.monotonic() - vanished
    assert refusals, "the ten vanished viewers held every slot for a while"
    print(
        f"the eleventh viewer was refused until {refusals[-1]:.1f} s, watched at {watching:.1f} s"
    )
    # No refusal after the loan of an unconnected peer, and the sweep that ends it, ran out.
    assert refusals[-1] <= SlotLimits().connect_s + SWEEP_S, refusals
    assert all(frame.stamp_ms for frame in frames)


async def test_the_producer_connects_again_when_the_service_ends_its_connection(
    certs: SimCerts,
) -> None:
    limits = Limits(connection_s=5.0)  # the service's hour, shortened
    async with streaming(certs, limits=limits) as (kvs, watcher):
        first = kvs.channels[THING].master
        async with asyncio.timeout(20):
            while kvs.channels[THING].master in (None, first):
                await asyncio.sleep(0.05)
        async with KvsViewer(kvs.url, THING, VIEWER_KEYS) as viewer:
            frames = await viewer.frames(3)
    assert all(frame.stamp_ms for frame in frames)
    assert watcher.history[-1]["restarts"] == 0, "the same producer connected again"


async def test_a_robot_whose_audio_device_is_missing_still_streams_video(
    certs: SimCerts,
) -> None:
    missing = {"AUDIO_DEVICES": "alsa", "AUDIO_OPTIONS": {"microphone": "hw:CARD=NoSuchCard"}}
    async with (
        streaming(certs, settings=missing) as (kvs, watcher),
        KvsViewer(kvs.url, THING, VIEWER_KEYS, audio=True) as viewer,
    ):
        frames = await viewer.frames(10)
        await watcher.until(lambda s: s["state"] == "streaming")
    assert all(frame.stamp_ms for frame in frames)
    assert not viewer.audio_track.done()  # no audio offered back
    assert watcher.history[-1]["restarts"] == 0


async def test_the_rooms_tone_reaches_an_aiortc_viewer_as_opus(
    certs: SimCerts, tmp_path: Path
) -> None:
    room = {"AUDIO_DEVICES": "sim", "AUDIO_OPTIONS": {"tone_hz": 550}}
    async with (
        streaming(certs, settings=room) as (kvs, _),
        KvsViewer(kvs.url, THING, VIEWER_KEYS, audio=True) as viewer,
    ):
        assert "opus/48000" in viewer.pc.remoteDescription.sdp.lower()
        track = await asyncio.wait_for(viewer.audio_track, 20)
        chunks = [(await track.recv()).to_ndarray() for _ in range(100)]
    mono = np.concatenate([chunk.reshape(-1)[::2] for chunk in chunks[50:]]).astype(float)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    assert abs(np.fft.rfftfreq(len(mono), 1 / 48000)[spectrum.argmax()] - 550) < 10

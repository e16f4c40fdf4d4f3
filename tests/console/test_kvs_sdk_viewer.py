"""The console's viewer is the official KVS WebRTC JS SDK's SignalingClient: in Chromium it
joins the simulator's signaling service over wss:// with the presigned URL of POST /viewer,
and a page opened before the robot streams gets video once the robot starts, from the one
offer the service kept for it (no rejoin loop)."""

from __future__ import annotations

import time
from typing import Any

from sim.aws.kvs_signaling import Role
from tests.support.console import VIEWPORT, console_url, wait_for_frames
from tests.support.stack import RecordingStack


def test_the_sdk_viewer_joins_over_wss(browser: Any, pages: list, stack: RecordingStack) -> None:
    sockets: list[str] = []
    scripts: list[str] = []
    page = browser.new_page(viewport=VIEWPORT)
    pages.append(page)
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.on("request", lambda request: scripts.append(request.url))
    page.goto(console_url(stack))
    wait_for_frames(page, 10)
    assert stack.video is not None
    viewer_host = stack.video.signaling.wss(Role.VIEWER)
    assert [url for url in sockets if url.startswith(f"{viewer_host}/?X-Amz-ChannelARN=")]
    assert all(url.startswith("wss://") for url in sockets)
    assert f"{stack.url}/kvs-webrtc.min.js" in scripts  # the SDK from the console's own site
    assert page.evaluate("typeof KVSWebRTC.SignalingClient") == "function"


def test_a_page_opened_before_the_robot_streams_gets_video_when_it_does(
    browser: Any, pages: list, stack: RecordingStack
) -> None:
    stack.stop_daemon()
    assert stack.video is not None and stack.video.signaling is not None
    channel = stack.video.signaling.channels[stack.thing_name]
    page = browser.new_page(viewport=VIEWPORT)
    pages.append(page)
    page.goto(console_url(stack))
    deadline = time.monotonic() + 20
    while not channel.queued:  # the page's offer waits for the robot in the channel
        assert time.monotonic() < deadline, "the page sent no offer"
        time.sleep(0.05)
    stack.start_daemon()
    wait_for_frames(page, 10, timeout_ms=60_000)
    assert page.evaluate("window.robotViewer.joins") == 1, "the queued offer was answered"

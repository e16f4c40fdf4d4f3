"""Our video producer: a KVS WebRTC signaling master streaming one camera, as its own process.

    python -m robot.producer --thing stspi --region eu-west-1 \\
        --credential-endpoint xxxx.credentials.iot.eu-west-1.amazonaws.com \\
        --role-alias stspi-camera --certificate certs/certificate.pem \\
        --private-key certs/private.pem.key --root-ca certs/cacert.pem --source picamera2

The daemon's media supervisor runs it and reads its output: ``media-status`` lines say when
it is ready and how many viewers watch; a fatal error is reported and ends it with code 1
(the supervisor starts it again). The channel is named after the thing.

With ``--control-fd`` (the daemon's control socket, robot/contracts/control.py), consoles may
drive over a data channel: their tokens are verified with the ``JWT_*`` settings in the
environment (the daemon passes the robot's), their commands go to the daemon, and the
daemon's telemetry comes back to them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

from robot.contracts import signals
from robot.contracts.admission import UnscopedTokens
from robot.producer.audio import Processing

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m robot.producer", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--thing", required=True, help="the thing name, also the channel name")
    parser.add_argument("--region", required=True)
    parser.add_argument(
        "--credential-endpoint",
        required=True,
        help="the IoT credentials provider (IOT_GET_CREDENTIAL_ENDPOINT)",
    )
    parser.add_argument("--role-alias", required=True)
    parser.add_argument("--certificate", type=Path, required=True)
    parser.add_argument("--private-key", type=Path, required=True)
    parser.add_argument("--root-ca", type=Path, required=True)
    parser.add_argument("--source", default="picamera2", help="camera source (entry point)")
    parser.add_argument(
        "--source-options",
        type=json.loads,
        default={},
        help="the source's options, as a JSON object",
    )
    parser.add_argument("--codec", choices=["h264", "vp8"], default="h264")
    parser.add_argument(
        "--control-fd",
        type=int,
        default=None,
        help="the daemon's control socket, inherited: consoles drive over a data channel",
    )
    parser.add_argument(
        "--unscoped-tokens",
        choices=[str(policy) for policy in UnscopedTokens],
        default=str(UnscopedTokens.ACCEPTED),
        help="whether a console's token without a robots claim may reach this robot",
    )
    parser.add_argument(
        "--audio-devices",
        default=None,
        help="the microphone and speaker (entry point: alsa, sim); none: no audio",
    )
    parser.add_argument(
        "--audio-options", type=json.loads, default={}, help="their options, a JSON object"
    )
    parser.add_argument(
        "--audio-processing",
        choices=[str(kind) for kind in Processing],
        default=str(Processing.FULL),
        help="what the microphone's sound goes through",
    )
    parser.add_argument(
        "--volume-file", type=Path, default=None, help="where the speaker's volume is kept"
    )
    parser.add_argument(
        "--kvs-endpoint-url",
        default=None,
        help="the KVS control plane, when not AWS's (the simulator's)",
    )
    return parser.parse_args(argv)


def report(kind: str, value: Any) -> None:
    if kind == "ready":
        line = signals.ready_line()
    elif kind == "audio":
        line = signals.audio_line(value)
    else:
        line = signals.viewers_line(value)
    print(line, flush=True)


async def produce(args: argparse.Namespace) -> None:
    from robot.contracts.video import bitrates, problems
    from robot.producer.cameras import open_camera
    from robot.producer.credentials import CredentialsProvider
    from robot.producer.feeds import feed
    from robot.producer.kvs import SignalingChannel
    from robot.producer.master import Master

    provider = CredentialsProvider(
        args.credential_endpoint,
        args.role_alias,
        args.thing,
        args.certificate,
        args.private_key,
        args.root_ca,
    )
    refused = problems(args.source, args.codec, args.source_options)
    if refused:  # the daemon's config check says the same; this is for a producer run by hand
        raise ValueError("; ".join(refused))
    credentials = await asyncio.to_thread(provider.credentials)
    camera = open_camera(args.source, args.source_options)
    video = feed(camera, bitrates(args.source, args.codec, args.source_options))
    audio = open_audio(args)
    gadgets = [] if audio is None else room_signals(audio, args.audio_options)
    running = None if audio is None else asyncio.create_task(audio.run())
    try:
        channel = SignalingChannel(
            args.thing, args.region, credentials, args.kvs_endpoint_url, args.root_ca
        )
        if args.control_fd is None:
            await Master(channel, video, args.codec, report, **_local(args, audio)).serve()
        else:
            await serve_with_consoles(args, channel, video, audio)
    finally:
        video.stop()
        if running is not None:
            running.cancel()
        for gadget in gadgets:
            gadget.close()


def room_signals(audio: Any, options: dict[str, Any]) -> list[Any]:
    """The mute button and status light, when configured; one that cannot be set up is
    logged, and audio goes on without it."""
    from robot.producer import room_signals

    try:
        return room_signals.attach(audio, options)
    except Exception as exc:  # gpiozero's errors have no common base worth naming
        log.warning("no mute button or status light: %s", exc)
        return []


def open_audio(args: argparse.Namespace) -> Any:
    """The audio engine, or None when no devices are configured or they cannot be opened:
    the video goes on without audio either way (the reason is logged once)."""
    if not args.audio_devices:
        return None
    from robot.producer.audio import AudioEngine, AudioError, Volume, open_devices

    try:
        devices = open_devices(args.audio_devices, args.audio_options)
    except AudioError as exc:
        log.warning("no audio: %s", exc)
        report("audio", {"off": str(exc)})
        return None
    engine = AudioEngine(
        devices, Volume(args.volume_file), Processing(args.audio_processing), report_audio
    )
    report_audio(engine.state)
    return engine


def report_audio(state: dict[str, Any]) -> None:
    report("audio", state)


async def serve_with_consoles(
    args: argparse.Namespace, channel: Any, video: Any, audio: Any = None
) -> None:
    """Serve viewers, and consoles' data channels linked to the daemon's control socket."""
    from robot.contracts.control import ControlSocket
    from robot.producer.consoles import Operators, verifier_from
    from robot.producer.master import Master

    control = await ControlSocket.open(socket.socket(fileno=args.control_fd))
    operators = Operators(
        args.thing,
        verifier_from(os.environ),
        control.send,
        unscoped=UnscopedTokens(args.unscoped_tokens),
    )

    async def relay_telemetry() -> None:
        async for line in control.lines():  # each line one telemetry message, passed as it is
            operators.telemetry(line.decode())

    if audio is not None:
        operators.audio = audio.command
        audio.listeners.append(operators.audio_changed)
        operators.audio_changed(audio.state)
    relay = asyncio.create_task(relay_telemetry())
    try:
        await Master(channel, video, args.codec, report, operators, **_local(args, audio)).serve()
    finally:
        relay.cancel()
        await control.close()


def _local(args: argparse.Namespace, audio: Any) -> dict[str, Any]:
    # A signaling service of its own is the simulator's, whose viewers share this machine.
    return {"loopback_candidates": bool(args.kvs_endpoint_url), "audio": audio}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stdout, format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("aioice").setLevel(logging.WARNING)
    try:
        asyncio.run(produce(args))
    except KeyboardInterrupt:  # SIGINT from the supervisor: a normal stop
        return 0
    except Exception as exc:
        print(signals.fatal_line(f"{type(exc).__name__}: {exc}"), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The producers the daemon can supervise, chosen by ``VIDEO_PRODUCER``, built from config.json.

- ``python``: ours, ``python -m robot.producer`` (needs the ``video`` extra), with the
  daemon's control socket, so consoles can drive over a data channel; it verifies their
  tokens with the robot's ``JWT_*`` settings, given in its environment;
- ``kvs-c-sample``: AWS's ``kvsWebrtcClientMasterGstSample``, built with
  ``-DIOT_CORE_ENABLE_CREDENTIALS=ON``; it is given the environment variables it reads, its
  output is made line-buffered with ``stdbuf``, and it runs in a folder of its own (it
  writes files into its working directory);
- ``off``: no video.

Standard library only: the daemon imports this, the video packages stay in the producer.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import sys
from collections.abc import AsyncIterator, Callable, Mapping

from robot.contracts.signals import SampleLogReader, classify_status_line
from robot.daemon.config import Config
from robot.daemon.supervisor import (
    ControlPeer,
    MediaState,
    MediaStatus,
    MediaSupervisor,
    ProducerSpec,
    Timing,
)

SAMPLE_LOG_LEVEL = "3"  # INFO: its readiness and connection-state lines are INFO

# glibc's malloc for our producer. Its video frames (460-920 KB at 640x480) are freed and made
# 30 times a second; by default glibc then raises its mmap threshold to their size and keeps
# them in its heaps, where freed ones stay resident. A fixed threshold keeps every
# frame in a mapping of its own, unmapped when freed (the figures: docs/benchmarks.md).
# Fewer arenas (MALLOC_ARENA_MAX) measured no difference.
PRODUCER_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "65536"}


class VideoOff(Exception):
    """Video cannot run with this config; the message says why and what to change."""


def producer_spec(config: Config, environ: Mapping[str, str] | None = None) -> ProducerSpec:
    """The configured producer, or VideoOff with the reason."""
    environ = dict(os.environ if environ is None else environ)
    if config.video_producer == "off":
        raise VideoOff("VIDEO_PRODUCER is off")
    if not (config.credential_endpoint and config.role_alias and config.region):
        raise VideoOff(
            "IOT_GET_CREDENTIAL_ENDPOINT, ROLE_ALIAS and AWS_DEFAULT_REGION are "
            "needed for video (robot provision writes them)"
        )
    if config.video_producer == "kvs-c-sample":
        return kvs_c_sample(config, environ)
    return python_producer(config, environ)


def python_producer(config: Config, environ: dict[str, str]) -> ProducerSpec:
    if importlib.util.find_spec("aiortc") is None:
        raise VideoOff("the python producer needs the video extra: pip install -e '.[video]'")
    argv = [
        sys.executable,
        "-m",
        "robot.producer",
        "--thing",
        config.thing_name,
        "--region",
        config.region,
        "--credential-endpoint",
        config.credential_endpoint,
        "--role-alias",
        config.role_alias,
        "--certificate",
        str(config.certificate),
        "--private-key",
        str(config.private_key),
        "--root-ca",
        str(config.root_ca),
        "--source",
        config.video_source,
        "--source-options",
        json.dumps(config.video_options),
        "--codec",
        config.video_codec,
        "--unscoped-tokens",
        config.unscoped_tokens,
    ]
    if config.kvs_endpoint_url:
        argv += ["--kvs-endpoint-url", config.kvs_endpoint_url]
    if config.audio_devices:
        argv += [
            "--audio-devices",
            config.audio_devices,
            "--audio-options",
            json.dumps(config.audio_options),
            "--audio-processing",
            config.audio_processing,
            "--volume-file",
            str(config.state_dir / "volume"),
        ]
    # The config's, and nothing the daemon's own environment might hold under these names.
    tokens = {name: "" for name in ("JWT_ISSUER", "JWT_AUDIENCE", "JWKS_URL", "JWT_PUBLIC_KEY")}
    env = {**environ, **PRODUCER_MALLOC, **tokens, **config.operator_tokens}
    return ProducerSpec(
        "python", argv, env, lambda: classify_status_line, control_flag="--control-fd"
    )


def kvs_c_sample(config: Config, environ: dict[str, str]) -> ProducerSpec:
    program = config.kvs_sample_path
    if "/" in program:
        program = str((config.path.parent / program).resolve())
    elif shutil.which(program) is None:
        raise VideoOff(
            f"{program} is not on PATH: build it (./install.sh --kvs-sample) or set KVS_SAMPLE_PATH"
        )
    source = ["testsrc"] if config.video_source == "testpattern" else []
    mode = "audio-video" if config.audio_devices else "video-only"
    argv = [program, config.thing_name, mode, *source]
    stdbuf = shutil.which("stdbuf")
    if stdbuf:  # its log goes through stdio, block-buffered on a pipe without this
        argv = [stdbuf, "-oL", "-eL", *argv]
    workdir = config.path.parent / "kvs-sample"
    workdir.mkdir(exist_ok=True)
    env = {
        **environ,
        "AWS_DEFAULT_REGION": config.region,
        "AWS_KVS_CACERT_PATH": str(config.root_ca),
        "AWS_IOT_CORE_THING_NAME": config.thing_name,
        "AWS_IOT_CORE_CREDENTIAL_ENDPOINT": config.credential_endpoint,
        "AWS_IOT_CORE_CERT": str(config.certificate),
        "AWS_IOT_CORE_PRIVATE_KEY": str(config.private_key),
        "AWS_IOT_CORE_ROLE_ALIAS": config.role_alias,
        "AWS_KVS_LOG_LEVEL": SAMPLE_LOG_LEVEL,
    }
    return ProducerSpec("kvs-c-sample", argv, env, SampleLogReader, cwd=workdir)


@contextlib.asynccontextmanager
async def supervise(
    config: Config,
    on_change: Callable[[MediaStatus], None],
    timing: Timing | None = None,
    control: ControlPeer | None = None,
) -> AsyncIterator[MediaSupervisor | None]:
    """Run the configured producer under a supervisor for the duration of the block, each run's
    control socket given to ``control``; the block gets the supervisor, or None when video is
    off."""
    try:
        spec = producer_spec(config)
    except VideoOff as exc:
        status = MediaStatus(MediaState.OFF, config.video_producer, last_error=str(exc))
        on_change(status)
        yield None
        return
    async with MediaSupervisor(spec, timing, on_change, control) as supervisor:
        yield supervisor

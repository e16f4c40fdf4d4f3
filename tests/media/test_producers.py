"""The producers as config.json chooses them, and the KVS C SDK sample's supervision, against
a stand-in that prints the sample's real log lines and exits as it does (standins/kvs_sample.py:
the sample itself cannot be built here)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from robot.contracts.signals import SampleLogReader, Signal
from robot.daemon import config as config_module
from robot.daemon.producers import VideoOff, producer_spec
from robot.daemon.supervisor import MediaSupervisor
from robot.producer import run
from tests.media.conftest import FAST, STANDINS, Watcher


def write_config(folder: Path, **keys: object) -> config_module.Config:
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (folder / name).write_text("-----BEGIN CERTIFICATE-----\n")
    (folder / "key.pem").chmod(0o600)
    settings = {
        "IOT_THINGNAME": "camerabot",
        "IOT_CORE_ENDPOINT": "example-ats.iot.eu-west-1.amazonaws.com",
        "IOT_GET_CREDENTIAL_ENDPOINT": "example.credentials.iot.eu-west-1.amazonaws.com",
        "ROLE_ALIAS": "camerabot-camera",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "ROOT_CA_PATH": "ca.pem",
        "CERTIFICATE_PATH": "cert.pem",
        "PRIVATE_KEY_PATH": "key.pem",
        "MOTOR_DRIVER": "sim",
        **keys,
    }
    path = folder / "config.json"
    path.write_text(json.dumps(settings))
    return config_module.load(path)


def sample_config(folder: Path) -> config_module.Config:
    return write_config(
        folder, VIDEO_PRODUCER="kvs-c-sample", KVS_SAMPLE_PATH=str(STANDINS / "kvs_sample.py")
    )


async def test_the_c_sample_runs_with_the_variables_it_reads_and_stops_on_sigint(
    tmp_path: Path, watcher: Watcher
) -> None:
    spec = producer_spec(sample_config(tmp_path))
    supervisor = MediaSupervisor(spec, FAST, on_change=watcher)
    async with supervisor:
        ready = await watcher.until(lambda s: s["state"] == "ready")
        await watcher.until(lambda s: s["viewers"] == 2)
        settled = await watcher.until(lambda s: s["viewers"] == 1 and s["state"] == "streaming")
        stopping = time.monotonic()
    # It handles SIGINT and exits by itself, well inside the grace period.
    assert time.monotonic() - stopping < FAST.stop_grace_s
    assert ready["producer"] == "kvs-c-sample" and settled["restarts"] == 0
    assert spec.env["AWS_IOT_CORE_THING_NAME"] == "camerabot"
    assert spec.env["AWS_KVS_CACERT_PATH"] == str(tmp_path / "ca.pem")
    assert spec.argv[:3] == [spec.argv[0], "-oL", "-eL"] and spec.argv[0].endswith("stdbuf")
    assert spec.cwd == tmp_path / "kvs-sample" and spec.cwd.is_dir()


async def test_a_c_sample_that_cannot_connect_is_restarted_with_its_error(
    tmp_path: Path, watcher: Watcher
) -> None:
    spec = producer_spec(sample_config(tmp_path), {**os.environ, "STANDIN_MODE": "fail"})
    async with MediaSupervisor(spec, FAST, on_change=watcher):
        backoff = await watcher.until(lambda s: s["state"] == "backoff")
    assert "Terminated with status code 0x5d00000b" in backoff["last_error"]


def test_the_sample_log_reader_counts_viewers_from_connection_states() -> None:
    read = SampleLogReader()
    lines = [
        "[KVS GStreamer Master] Signaling client connection to socket established",
        "INFO    onConnectionStateChange(): New connection state 3",
        "INFO    onConnectionStateChange(): New connection state 3",
        "INFO    onConnectionStateChange(): New connection state 4",
        "INFO    onConnectionStateChange(): New connection state 5",
        "[KVS GStreamer Master] signalingClientConnectSync(): operation returned status code: "
        "0x5d00000b ",
    ]
    assert [read(line) for line in lines] == [
        Signal("ready"),
        Signal("viewers", 1),
        Signal("viewers", 2),
        None,
        Signal("viewers", 1),
        Signal("error", "signalingClientConnectSync() returned 0x5d00000b"),
    ]
    assert read("[KVS GStreamer Master] Channel camerabot set up done") == Signal("ready")


def test_the_python_producer_is_the_default(tmp_path: Path) -> None:
    spec = producer_spec(write_config(tmp_path, KVS_ENDPOINT_URL="http://127.0.0.1:9"))
    assert spec.name == "python"
    assert spec.argv[:3] == [sys.executable, "-m", "robot.producer"]
    options = dict(zip(spec.argv[3::2], spec.argv[4::2], strict=True))
    assert options["--thing"] == "camerabot" and options["--source"] == "picamera2"
    assert options["--kvs-endpoint-url"] == "http://127.0.0.1:9"
    assert options["--credential-endpoint"].endswith("credentials.iot.eu-west-1.amazonaws.com")
    assert spec.env["MALLOC_MMAP_THRESHOLD_"] == "65536"  # its frames unmapped when freed


@pytest.mark.parametrize(
    ("keys", "reason"),
    [
        ({"VIDEO_PRODUCER": "off"}, "VIDEO_PRODUCER is off"),
        ({"ROLE_ALIAS": ""}, "IOT_GET_CREDENTIAL_ENDPOINT, ROLE_ALIAS and AWS_DEFAULT_REGION"),
        ({"VIDEO_PRODUCER": "kvs-c-sample", "KVS_SAMPLE_PATH": "no-such-sample"}, "not on PATH"),
    ],
)
def test_video_is_off_with_the_reason(tmp_path: Path, keys: dict, reason: str) -> None:
    with pytest.raises(VideoOff, match=reason):
        producer_spec(write_config(tmp_path, **keys))


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("VIDEO_PRODUCER", "gstreamer", "must be one of python, kvs-c-sample, off"),
        ("VIDEO_SOURCE", "webcam", "unknown camera source; installed: "),
        ("VIDEO_OPTIONS", [640, 480], "must be a JSON object"),
        ("VIDEO_CODEC", "h265", "must be one of h264, vp8"),
    ],
)
def test_bad_video_keys_are_named(tmp_path: Path, key: str, value: object, problem: str) -> None:
    with pytest.raises(config_module.ConfigError) as caught:
        write_config(tmp_path, **{key: value})
    assert any(p.startswith(f"{key} = ") and problem in p for p in caught.value.problems)


def test_the_producer_run_by_hand_refuses_a_codec_its_camera_cannot_send(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["--thing", "camerabot", "--region", "us-east-1", "--role-alias", "alias"]
    args += ["--credential-endpoint", "localhost:1", "--certificate", "c.pem"]
    args += ["--private-key", "k.pem", "--root-ca", "ca.pem", "--codec", "vp8"]
    assert run.main([*args, "--source", "picamera2"]) == 1
    out = capsys.readouterr().out
    assert "VIDEO_CODEC = 'vp8': VIDEO_SOURCE 'picamera2' sends h264 only" in out

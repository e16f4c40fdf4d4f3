"""``robot doctor`` against the running simulator: it passes end to end, and fails clearly, one
line per problem, on broken configs (real mosquitto with mutual TLS, real certificates)."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sim.stack import SimStack

ROOT = Path(__file__).resolve().parents[2]
CHECKS = [
    "config",
    "certificate",
    "private key",
    "clock",
    "IoT endpoint",
    "credentials provider",
    "board",
    "video producer",
    "camera",
    "health",
    "battery",
    "audio",
    "service",
]


def doctor(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "robot.cli", "doctor", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
        env={key: value for key, value in os.environ.items() if key != "MOTOR_DRIVER"},
    )


def lines(result: subprocess.CompletedProcess[str], status: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith(status)]


def broken(stack: SimStack, tmp_path: Path, **changes: object) -> Path:
    settings = json.loads(stack.config_path.read_text())
    settings.update(changes)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(settings))
    return path


def test_it_passes_against_the_simulator(stack):
    result = doctor(stack.config_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines(result, "FAIL") == []
    checked = [line[5:].split(":")[0] for line in result.stdout.splitlines()]
    assert sorted(set(checked)) == sorted(CHECKS)
    assert any(
        line.startswith("ok   IoT endpoint: mutual TLS with localhost:")
        for line in result.stdout.splitlines()
    )


def test_a_broken_config_fails_one_line_per_problem(stack, tmp_path):
    key = tmp_path / "world-readable.key"
    shutil.copy(json.loads(stack.config_path.read_text())["PRIVATE_KEY_PATH"], key)
    key.chmod(0o644)
    result = doctor(broken(stack, tmp_path, IOT_CORE_PORT="8883", PRIVATE_KEY_PATH=str(key)))
    assert result.returncode == 1
    failures = lines(result, "FAIL")
    assert len(failures) == 2, result.stdout
    assert "IOT_CORE_PORT = '8883': must be a whole number" in failures[0]
    assert "chmod 600" in failures[1]


def test_an_endpoint_that_does_not_answer_fails_with_the_fix(stack, tmp_path):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens on it once closed
    result = doctor(broken(stack, tmp_path, IOT_CORE_PORT=port))
    assert result.returncode == 1
    [failure] = lines(result, "FAIL")
    assert f"IoT endpoint: no mutual TLS with localhost:{port}" in failure
    assert "check IOT_CORE_ENDPOINT and IOT_CORE_PORT" in failure


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not-the-robot")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "other.pem", tmp_path / "other.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def test_a_certificate_the_endpoint_does_not_trust_fails(stack, tmp_path):
    cert, key = self_signed(tmp_path)
    result = doctor(broken(stack, tmp_path, CERTIFICATE_PATH=str(cert), PRIVATE_KEY_PATH=str(key)))
    assert result.returncode == 1
    # Both endpoints that take the certificate refuse it (the simulator runs a credentials
    # provider too); nothing else fails.
    failures = lines(result, "FAIL")
    assert [failure.split(":")[0] for failure in failures] == [
        "FAIL IoT endpoint",
        "FAIL credentials provider",
    ]


def test_a_key_of_another_certificate_fails(stack, tmp_path):
    _, key = self_signed(tmp_path)
    result = doctor(broken(stack, tmp_path, PRIVATE_KEY_PATH=str(key)))
    assert result.returncode == 1, result.stderr
    [failure] = lines(result, "FAIL")
    assert "do not belong together" in failure
    assert "skip IoT endpoint: needs a working certificate" in result.stdout
    assert "skip credentials provider: needs a working certificate" in result.stdout


def test_an_old_key_name_is_a_warning_and_the_robot_still_passes(stack, tmp_path):
    path = broken(stack, tmp_path, WHEEL_BASE=0.2)
    assert "WHEEL_SEPARATION" not in json.loads(path.read_text())
    result = doctor(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines(result, "FAIL") == []
    assert lines(result, "warn") == [
        "warn config: WHEEL_BASE = 0.2: deprecated, now called WHEEL_SEPARATION; "
        f"rename WHEEL_BASE to WHEEL_SEPARATION in {path.name}"
    ]


def test_video_off_checks_no_camera_and_no_credentials(stack, tmp_path):
    result = doctor(broken(stack, tmp_path, VIDEO_PRODUCER="off"))
    assert result.returncode == 0, result.stdout + result.stderr
    checked = {line[5:].split(":")[0] for line in result.stdout.splitlines()}
    assert not {"credentials provider", "video producer", "camera"} & checked
    assert "skip video: VIDEO_PRODUCER is off" in result.stdout


def test_a_missing_board_library_does_not_stop_the_other_checks(stack, tmp_path):
    # The sim's config with a real board whose library this venv lacks (nobody installs
    # explorerhat's smbus here), on the v4l2 camera of a device that is not there.
    result = doctor(
        broken(
            stack,
            tmp_path,
            MOTOR_DRIVER="explorerhat",
            VIDEO_SOURCE="v4l2",
            VIDEO_OPTIONS={"device": str(tmp_path / "video9")},
        )
    )
    assert result.returncode == 1
    failures = lines(result, "FAIL")
    assert [failure.split(":")[0] for failure in failures] == [
        *(["FAIL clock"] if "FAIL clock" in result.stdout else []),
        "FAIL board",
        "FAIL camera",
        "FAIL service",
    ], result.stdout
    assert 'needs the Python package "smbus"' in result.stdout
    assert f"FAIL camera: no {tmp_path / 'video9'}: plug the USB camera in" in result.stdout
    assert "ok   IoT endpoint: mutual TLS with localhost:" in result.stdout
    assert "ok   video producer: python, source v4l2" in result.stdout


def test_a_camera_library_that_breaks_at_import_is_a_failure_not_a_crash(stack, tmp_path):
    # A picamera2 that fails at import as Raspberry Pi's does under a numpy it was not built
    # against (simplejpeg's error), first on the path.
    fake = tmp_path / "site" / "picamera2"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        'raise ValueError("numpy.dtype size changed, may indicate binary incompatibility")\n'
    )
    path = broken(stack, tmp_path, VIDEO_SOURCE="picamera2")
    result = subprocess.run(
        [sys.executable, "-m", "robot.cli", "doctor", "--config", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(fake.parent)},
    )
    assert result.returncode == 1
    assert (
        "FAIL camera: picamera2 does not import (picamera2: ValueError: numpy.dtype size changed"
        in result.stdout
    ), result.stdout + result.stderr
    assert "service:" in result.stdout  # the checks after it ran


def test_an_audio_device_that_is_not_there_fails_with_the_fix(stack, tmp_path):
    result = doctor(
        broken(
            stack,
            tmp_path,
            AUDIO_DEVICES="alsa",
            AUDIO_OPTIONS={"microphone": "hw:CARD=NoSuchCard"},
        )
    )
    assert result.returncode == 1
    [failure] = lines(result, "FAIL audio")
    assert "microphone 'hw:CARD=NoSuchCard'" in failure
    assert "`arecord -L` and `aplay -L` name the devices" in failure

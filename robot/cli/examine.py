"""``robot doctor``: is this robot ready to drive? Each check passes, fails or is skipped, and a
failure says the fix. Nothing moves; every network check gives up after a few seconds."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from pathlib import Path

import drivers
from robot.cli.findings import Finding, fail, ok, skip, warn
from robot.cli.health_checks import check_battery, check_health
from robot.contracts.cameras import CAMERA_GROUP
from robot.daemon import config
from robot.daemon.freshness import kernel_clock_synced
from robot.producer.credentials import CredentialsError, CredentialsProvider

TIMEOUT_S = 5.0
SIMULATED = "sim"  # the board of `robot sim`: this computer's clock, no camera, no service


def examine(path: Path | str) -> Iterator[Finding]:
    """Every check, in the order a person would fix them. Each check that does not need
    another's result runs whatever the others found; one that does says which it waits for."""
    try:
        # The board's own problems (a library not installed) are the board check's.
        settings = config.load(path, check_board=False)
    except config.ConfigError as exc:
        for problem in exc.problems:
            yield fail("config", problem)
        yield skip("the rest", "needs a config without problems")
        return
    yield ok("config", f"{path}: thing {settings.thing_name}, board {settings.motor_driver}")
    for deprecation in settings.deprecations:
        yield warn("config", deprecation)
    certificate = list(guarded("certificate", check_certificate, settings))
    yield from certificate
    yield from guarded("clock", check_clock, settings)
    video = settings.video_producer != "off"
    if any(finding.status == "FAIL" for finding in certificate):
        yield skip("IoT endpoint", "needs a working certificate")
        if video:
            yield skip("credentials provider", "needs a working certificate")
    else:
        yield from guarded("IoT endpoint", check_iot_endpoint, settings)
        if video:
            yield from guarded("credentials provider", check_credentials, settings)
    yield from guarded("board", check_board, settings)
    if video:
        yield from guarded("video producer", check_producer, settings)
        yield from guarded("camera", check_camera, settings)
        yield from guarded("audio", check_audio, settings)
    else:
        yield skip("video", "VIDEO_PRODUCER is off: no credentials provider, producer or camera")
    yield from guarded("health", check_health, settings)
    yield from guarded("battery", check_battery, settings)
    yield from guarded("service", check_service, settings)


def guarded(
    name: str,
    check: Callable[[config.Config], Finding | Iterator[Finding]],
    settings: config.Config,
) -> Iterator[Finding]:
    """The check's findings; one that breaks is a failure of that check, and the rest still run."""
    try:
        found = check(settings)
        yield from [found] if isinstance(found, Finding) else list(found)
    except Exception as exc:  # a check's own failure must not hide the other checks
        yield fail(name, f"could not be checked ({type(exc).__name__}: {exc})")


def check_certificate(settings: config.Config) -> Iterator[Finding]:
    try:
        _tls_context(settings)
    except ssl.SSLError as exc:
        yield fail(
            "certificate",
            f"{settings.certificate.name} and {settings.private_key.name} do not belong together, "
            f"or one is not PEM ({exc.reason}): put the key made with this certificate",
        )
        return
    yield ok("certificate", f"{settings.certificate.name} and its key belong together")
    expires = _not_after(settings.certificate)
    if expires is not None:
        days = (expires - time.time()) / 86400
        if days < 0:
            yield fail("certificate", "expired: make a new one (robot provision)")
        else:
            yield ok("certificate", f"valid for {days:.0f} more days")
    key = settings.private_key.stat()
    mode = stat.S_IMODE(key.st_mode)
    if key.st_uid != os.geteuid():
        yield fail(
            "private key",
            f"owned by uid {key.st_uid}, not this user: sudo chown {os.geteuid()} "
            f"{settings.private_key}",
        )
    else:
        yield ok("private key", f"mode {mode:o}, readable by this user only")


def _not_after(certificate: Path) -> float | None:
    """The certificate's expiry (epoch seconds); None without the cryptography package."""
    try:
        from cryptography import x509
    except ImportError:
        return None
    cert = x509.load_pem_x509_certificate(certificate.read_bytes())
    expiry = getattr(cert, "not_valid_after_utc", None)  # cryptography >= 42
    if expiry is None:  # Debian Bookworm's python3-cryptography (38): naive UTC
        return cert.not_valid_after.timestamp() - time.timezone
    return expiry.timestamp()


def _tls_context(settings: config.Config) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(settings.root_ca))
    context.load_cert_chain(str(settings.certificate), str(settings.private_key))
    return context


def check_clock(settings: config.Config) -> Finding:
    if settings.motor_driver == SIMULATED:
        return skip("clock", "the simulated robot runs on this computer's clock")
    if not kernel_clock_synced():
        return fail(
            "clock",
            "not synchronised (TLS and AWS signatures need the right time, and a Pi has no "
            "clock of its own): check the network, then sudo systemctl restart systemd-timesyncd",
        )
    return ok("clock", "synchronised")


def check_iot_endpoint(settings: config.Config) -> Finding:
    where = f"{settings.endpoint}:{settings.port}"
    context = _tls_context(settings)
    if settings.port == 443:
        context.set_alpn_protocols(["x-amzn-mqtt-ca"])  # MQTT on 443 is chosen by ALPN
    started = time.monotonic()
    try:
        with (
            socket.create_connection((settings.endpoint, settings.port), TIMEOUT_S) as raw,
            context.wrap_socket(raw, server_hostname=settings.endpoint) as tls,
        ):
            handshake_ms = (time.monotonic() - started) * 1000
            # TLS 1.3 servers judge the client's certificate after the handshake: a refusal
            # comes as an alert on the first read, silence means it was accepted.
            tls.settimeout(0.5)
            try:
                closed = tls.recv(1) == b""
            except TimeoutError:
                closed = False
    except (OSError, ssl.SSLError) as exc:
        return fail(
            "IoT endpoint",
            f"no mutual TLS with {where} ({exc}): check IOT_CORE_ENDPOINT and IOT_CORE_PORT, "
            "that the certificate is active and attached to the robot's policy, and the network",
        )
    if closed:
        return fail("IoT endpoint", f"{where} closed the connection: is the certificate active?")
    return ok("IoT endpoint", f"mutual TLS with {where}, handshake {handshake_ms:.0f} ms")


def check_credentials(settings: config.Config) -> Finding:
    if not settings.credential_endpoint or not settings.role_alias:
        return fail(
            "credentials provider",
            "IOT_GET_CREDENTIAL_ENDPOINT or ROLE_ALIAS is empty, and video needs them: "
            "robot provision writes them, or set VIDEO_PRODUCER to off",
        )
    provider = CredentialsProvider(
        settings.credential_endpoint,
        settings.role_alias,
        settings.thing_name,
        settings.certificate,
        settings.private_key,
        settings.root_ca,
    )
    try:
        issued = provider.fetch()  # the producer's own call
    except CredentialsError as exc:
        if exc.status is None:
            return fail("credentials provider", f"no answer ({exc})")
        return fail(
            "credentials provider",
            f"role alias {settings.role_alias} refused ({exc.status}): attach the "
            "role alias policy to the certificate (robot provision does)",
        )
    return ok(
        "credentials provider",
        f"role alias {settings.role_alias} gives credentials until {issued['expiry_time']}",
    )


def check_board(settings: config.Config) -> Finding:
    name = settings.motor_driver
    problems = drivers.check(name, settings.board_options)
    if problems:
        return fail("board", "; ".join(problems))
    probe: Callable[..., str] | None = drivers.board(name).probe
    if probe is None:
        return skip("board", f"{name} has no way to be looked at without driving it")
    try:
        return ok("board", probe(settings.board_options))
    except drivers.DriverError as exc:
        return fail("board", str(exc))


# What ``python -m robot.producer`` imports before it streams (robot/producer/run.py); the
# camera source's module is added from its entry point.
PRODUCER_IMPORTS = (
    "robot.producer.master",
    "robot.producer.kvs",
    "robot.producer.consoles",
    "botocore.credentials",  # robot.producer.credentials, when it refreshes
)
# Imported in a child, as the producer would: a module that crashes at import (a C extension
# built against another numpy) must not take the doctor with it.
IMPORT_PROBE = """
import importlib, sys
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except BaseException as exc:
        print(f"{name}: {type(exc).__name__}: {exc}".splitlines()[0])
        sys.exit(1)
"""
IMPORT_TIMEOUT_S = 120.0  # aiortc and PyAV take seconds to import on a Pi Zero 2 W


def first_import_failure(modules: list[str]) -> str | None:
    """The first of ``modules`` that does not import in this Python, as "module: error"."""
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, *modules],
        capture_output=True,
        text=True,
        timeout=IMPORT_TIMEOUT_S,
        check=False,
    )
    if result.returncode == 0:
        return None
    lines = (result.stdout or result.stderr).strip().splitlines()
    return lines[-1] if lines else f"exit code {result.returncode}"


def check_producer(settings: config.Config) -> Finding:
    if settings.video_producer == "kvs-c-sample":
        program = settings.kvs_sample_path
        if "/" in program:
            found = (settings.path.parent / program).resolve()
            located = str(found) if os.access(found, os.X_OK) else None
        else:
            located = shutil.which(program)
        if located is None:
            return fail(
                "video producer",
                f"KVS_SAMPLE_PATH = {program!r}: not found or not executable: build it "
                "(./install.sh --kvs-sample) or set KVS_SAMPLE_PATH",
            )
        return ok("video producer", f"kvs-c-sample: {located}")
    source = next(iter(entry_points(group=CAMERA_GROUP, name=settings.video_source)))
    modules = [*PRODUCER_IMPORTS, source.module]
    failure = first_import_failure(modules)
    if failure is not None:
        return fail(
            "video producer",
            f"python -m robot.producer cannot import {failure}: install the video extra "
            "(./install.sh does; by hand: pip install -e '.[video]' in the robot's venv)",
        )
    return ok("video producer", f"python, source {settings.video_source}: its modules import")


# Opens the microphone (one frame read) and the speaker as the producer would (PyAV's alsa
# formats), in a child: a device that hangs or a library that crashes must not take the doctor.
AUDIO_PROBE = """
import sys
import av
microphone, speaker = sys.argv[1:3]
try:
    with av.open(microphone, format="alsa", options={"sample_rate": "48000", "channels": "1"}) as m:
        next(m.decode(audio=0))
except Exception as exc:
    print(f"microphone {microphone!r}: {exc}".splitlines()[0])
    sys.exit(1)
try:
    with av.open(speaker, mode="w", format="alsa") as s:
        s.add_stream("pcm_s16le", rate=48000, layout="mono")
except Exception as exc:
    print(f"speaker {speaker!r}: {exc}".splitlines()[0])
    sys.exit(1)
print(f"microphone {microphone!r}, speaker {speaker!r}")
"""
AUDIO_TIMEOUT_S = 20.0


def check_audio(settings: config.Config) -> Finding:
    name = settings.audio_devices
    if not name:
        return skip("audio", "AUDIO_DEVICES is empty: the robot streams video without audio")
    if settings.video_producer != "python":
        return skip("audio", "only the python producer has audio (VIDEO_PRODUCER)")
    failure = first_import_failure(["pywebrtc_audio"])
    if failure is not None:
        return fail("audio", f"{failure}: pip install '.[audio]' (./install.sh does)")
    if name == SIMULATED:
        return ok("audio", "the simulated room")
    if name != "alsa":
        return skip("audio", f"AUDIO_DEVICES {name!r} has no check here")
    options = settings.audio_options
    devices = [str(options.get(key, "default")) for key in ("microphone", "speaker")]
    try:
        result = subprocess.run(
            [sys.executable, "-c", AUDIO_PROBE, *devices],
            capture_output=True,
            text=True,
            timeout=AUDIO_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return fail(
            "audio", f"the microphone {devices[0]!r} gave no sound in {AUDIO_TIMEOUT_S:g} s"
        )
    said = (result.stdout or result.stderr).strip().splitlines()
    if result.returncode != 0:
        return fail(
            "audio",
            f"{said[-1] if said else result.returncode}: `arecord -L` and `aplay -L` name the "
            "devices; set AUDIO_OPTIONS' microphone and speaker",
        )
    return ok("audio", said[-1])


def check_camera(settings: config.Config) -> Finding:
    source = settings.video_source
    if settings.video_producer == "kvs-c-sample":
        if source == "testpattern":
            return ok("camera", "the sample's test source (testsrc): no camera needed")
        return skip("camera", "the KVS sample finds its camera itself (autovideosrc)")
    if source == SIMULATED:
        return skip("camera", "the simulated robot draws its camera")
    if source == "testpattern":
        return ok("camera", "VIDEO_SOURCE is testpattern: no camera needed")
    if source == "v4l2":
        device = Path(settings.video_options.get("device", "/dev/video0"))
        if not device.exists():
            return fail(
                "camera",
                f"no {device}: plug the USB camera in, or set VIDEO_OPTIONS' device",
            )
        if not os.access(device, os.R_OK | os.W_OK):
            return fail(
                "camera", f"no permission to open {device}: add the user to the video group"
            )
        return ok("camera", f"{device}")
    if source != "picamera2":
        return skip("camera", f"VIDEO_SOURCE {source!r} has no check here")
    shadowed = shadowed_system_numpy()
    if shadowed:
        return fail("camera", shadowed)
    failure = first_import_failure(["picamera2"])
    if failure is not None:
        if failure.startswith("picamera2: ModuleNotFoundError"):
            return fail("camera", f"no picamera2 ({failure}): sudo apt install python3-picamera2")
        return fail(
            "camera", f"picamera2 does not import ({failure}): ./install.sh keeps apt's numpy"
        )
    result = subprocess.run(
        [sys.executable, "-c", CAMERA_PROBE],
        capture_output=True,
        text=True,
        timeout=IMPORT_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or [f"exit code {result.returncode}"])[-1]
        return fail("camera", f"libcamera failed: {last}")
    cameras = [line for line in result.stdout.splitlines() if line]
    if not cameras:
        return fail(
            "camera",
            "none detected: check the ribbon cable (contacts towards the board), then reboot",
        )
    return ok("camera", ", ".join(cameras))


CAMERA_PROBE = """
from picamera2 import Picamera2
for camera in Picamera2.global_camera_info():
    print(camera.get("Model", "camera"))
"""


def shadowed_system_numpy() -> str | None:
    """Why this venv's numpy hides apt's, which picamera2's C extensions are built against
    (raspberrypi/picamera2 #1088); None when it does not."""
    spec = importlib.util.find_spec("numpy")
    if spec is None or spec.origin is None or sys.prefix == sys.base_prefix:
        return None
    own = Path(spec.origin).resolve()
    venv = Path(sys.prefix).resolve()
    if not own.is_relative_to(venv):
        return None  # it is the system's
    for entry in sys.path:
        folder = Path(entry)
        if folder.resolve().is_relative_to(venv):
            continue
        if (folder / "numpy" / "__init__.py").is_file():
            return (
                f"the venv's numpy ({own.parent}) hides apt's ({folder / 'numpy'}), which "
                "picamera2 is built against: run ./install.sh again (it keeps apt's numpy)"
            )
    return None


def check_service(settings: config.Config) -> Finding:
    if settings.motor_driver == SIMULATED:
        return skip("service", "robot sim runs the daemon itself")
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return fail("service", "no systemd here: run the daemon by hand (robot run)")
    states = [
        subprocess.run(
            [systemctl, verb, "robot.service"], capture_output=True, text=True, check=False
        ).stdout.strip()
        for verb in ("is-enabled", "is-active")
    ]
    if states[0] != "enabled":
        return fail(
            "service", f"robot.service is {states[0] or 'not installed'}: ./install.sh --service"
        )
    if states[1] != "active":
        return fail("service", f"robot.service is {states[1]}: journalctl -u robot says why")
    return ok("service", "robot.service enabled and running")

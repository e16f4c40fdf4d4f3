"""``robot doctor``: is this robot ready to drive? Each check passes, fails or is skipped, and a
failure says the fix. Nothing moves; every network check gives up after a few seconds."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import drivers
from robot.daemon import config
from robot.daemon.freshness import kernel_clock_synced
from robot.producer.credentials import CredentialsError, CredentialsProvider

TIMEOUT_S = 5.0
SIMULATED = "sim"  # the board of `robot sim`: this computer's clock, no camera, no service


@dataclass(frozen=True)
class Finding:
    status: str  # "ok", "warn" (works, but needs a change), "FAIL" or "skip"
    check: str
    detail: str

    def __str__(self) -> str:
        return f"{self.status:<4} {self.check}: {self.detail}"


def ok(check: str, detail: str) -> Finding:
    return Finding("ok", check, detail)


def warn(check: str, detail: str) -> Finding:
    return Finding("warn", check, detail)


def fail(check: str, detail: str) -> Finding:
    return Finding("FAIL", check, detail)


def skip(check: str, detail: str) -> Finding:
    return Finding("skip", check, detail)


def examine(path: Path | str) -> Iterator[Finding]:
    """Every check, in the order a person would fix them."""
    try:
        settings = config.load(path)
    except config.ConfigError as exc:
        for problem in exc.problems:
            yield fail("config", problem)
        yield skip("the rest", "needs a config without problems")
        return
    yield ok("config", f"{path}: thing {settings.thing_name}, board {settings.motor_driver}")
    for deprecation in settings.deprecations:
        yield warn("config", deprecation)
    certificate = list(check_certificate(settings))
    yield from certificate
    yield check_clock(settings)
    if any(finding.status == "FAIL" for finding in certificate):
        yield skip("IoT endpoint, credentials provider", "need a working certificate")
    else:
        yield check_iot_endpoint(settings)
        yield check_credentials(settings)
    yield check_board(settings)
    yield check_camera(settings)
    yield check_service(settings)


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
        return skip(
            "credentials provider",
            "IOT_GET_CREDENTIAL_ENDPOINT or ROLE_ALIAS is empty: no video",
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


def check_camera(settings: config.Config) -> Finding:
    if settings.motor_driver == SIMULATED:
        return skip("camera", "the simulated robot has no camera to detect")
    try:
        from picamera2 import Picamera2
    except ImportError:
        return fail("camera", "no picamera2: sudo apt install python3-picamera2")
    cameras = Picamera2.global_camera_info()
    if not cameras:
        return fail(
            "camera",
            "none detected: check the ribbon cable (contacts towards the board), then reboot",
        )
    return ok("camera", ", ".join(camera.get("Model", "camera") for camera in cameras))


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

"""The real install.sh on an emulated Raspberry Pi: Debian 12 arm64 (tests/deploy/arm64.py) with
a local apt repository of named stand-ins for the three packages only Raspberry Pi's archive
has (tests/deploy/pi-archive/), run as the Pi's user for each board, then as a service.

Everything else is real: Debian's arm64 packages, PyPI's aarch64 wheels, sudo, systemctl
(offline, as no systemd runs as PID 1 here: it enables units and starts none), the producer
streaming its test pattern to the simulator's KVS signaling service and credentials
provider, and the daemon connecting with mutual TLS to the simulator's broker, both of them on
this machine's loopback, which the chroot shares. RSS figures are printed for the notes
(qemu's own memory is in them; see the doc).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from robot.daemon.freshness import kernel_clock_synced
from sim.aws.background import BackgroundLoop
from sim.aws.certs import SimCerts, make_certs
from sim.aws.credentials_provider import CredentialsProvider
from sim.aws.iot_core import Broker
from sim.aws.kvs_signaling import MASTER_ACTIONS, KvsSignalingService, Permissions
from sim.aws.sigv4 import CredentialStore
from tests.deploy import arm64
from tests.deploy.test_install_pi import SKIPPED_IN_COPIES

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE = Path(__file__).parent / "pi-archive"
AMAZON_ROOT_CA_SHA256 = "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e"
THING = "armbot"
REGION = "eu-west-1"
HOME = f"/home/{arm64.USER}"
CHECKOUT = f"{HOME}/telepresence-robot"
VENV_PYTHON = f"{CHECKOUT}/.venv/bin/python"
HOST_CA_BUNDLE = ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt"
OFFLINE = {"SYSTEMD_OFFLINE": "1"}  # systemctl without a running systemd (see the fixture)
STOP_TIMEOUT_S = 60  # the daemon stops its producer first; under emulation that takes seconds
SYSTEM_NUMPY = "/usr/lib/python3/dist-packages/numpy/__init__.py"
# A board that cannot be reached off a Pi, a camera that is not there, a service not running:
# what doctor must say, and nothing else, in an emulated root on a machine that is not a Pi.
EXPECTED_OFF_A_PI = {"board", "camera", "service"}


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def first_child(pid: int, timeout: float = 0) -> int:
    """The first child of ``pid`` (the command that Chroot.argv's shell became, for unshare's
    pid), waiting up to ``timeout`` for one."""
    deadline = time.monotonic() + timeout
    while True:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                children = (task / "children").read_text().split()
                if children:
                    return int(children[0])
        assert time.monotonic() < deadline, f"process {pid} has no child"
        time.sleep(0.2)


def stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM to the command itself (unshare, its parent, ignores SIGTERM), as systemd would
    stop it; SIGKILL through unshare (--kill-child) if it does not end in time."""
    with contextlib.suppress(AssertionError, ProcessLookupError):
        os.kill(first_child(process.pid), signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


def build_archive(folder: Path) -> Path:
    """The stand-ins as .debs in a flat apt repository, with its Packages index."""
    folder.mkdir(parents=True)
    entries = []
    for source in sorted(path for path in ARCHIVE.iterdir() if path.is_dir()):
        tree = folder / "tree" / source.name
        shutil.copytree(source, tree, ignore=shutil.ignore_patterns("__pycache__"))
        deb = folder / f"{source.name}.deb"
        subprocess.run(
            ["dpkg-deb", "--root-owner-group", "--build", str(tree), str(deb)],
            check=True,
            capture_output=True,
            timeout=60,
        )
        data = deb.read_bytes()
        control = (source / "DEBIAN" / "control").read_text().rstrip("\n")
        entries.append(
            f"{control}\nFilename: ./{deb.name}\nSize: {len(data)}\n"
            f"SHA256: {hashlib.sha256(data).hexdigest()}\n"
        )
    shutil.rmtree(folder / "tree")
    (folder / "Packages").write_text("\n".join(entries))
    return folder


@pytest.fixture(scope="module")
def pi(tmp_path_factory: pytest.TempPathFactory) -> arm64.Chroot:
    if os.environ.get("ARM64_INSTALL_TEST") != "1":
        # Not yet in CI: on a 2-core machine it takes longer than its budget (docs/raspberry-pi.md).
        pytest.skip("the arm64 install test runs with ARM64_INSTALL_TEST=1")
    try:
        arm64.ensure_emulation()
    except arm64.Unavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the arm64 install test: {exc}")
        pytest.skip(f"no arm64 emulation here: {exc}")
    folder = tmp_path_factory.mktemp("arm64")
    started = time.monotonic()
    deadline = started + arm64.TIME_LIMIT_S
    lower, built = arm64.image(folder / "mmdebstrap.log", deadline)
    print(f"\narm64 root: {'built' if built else 'cached'} in {time.monotonic() - started:.0f} s")
    pi = arm64.Chroot(lower, folder, deadline)
    # Raspberry Pi's archive, served by the stand-ins, and Debian's security updates.
    build_archive(pi.path("/srv/pi-archive"))
    sources = pi.path("/etc/apt/sources.list.d/raspi.list")
    sources.parent.mkdir(parents=True)
    sources.write_text("deb [trusted=yes] file:/srv/pi-archive ./\n")
    shutil.copy("/etc/resolv.conf", pi.path("/etc/resolv.conf"))
    # No systemd runs as PID 1 here: systemctl works offline (enables units, starts none), as
    # in an image being built; sudo keeps the variable that says so.
    keep = pi.path("/etc/sudoers.d/020_systemd-offline")
    keep.parent.mkdir(parents=True)
    keep.write_text('Defaults env_keep += "SYSTEMD_OFFLINE"\n')
    keep.chmod(0o440)
    # The chroot has this machine's host name; sudo looks it up.
    pi.path("/etc/hosts").write_text(
        f"127.0.0.1 localhost\n::1 localhost\n127.0.1.1 {socket.gethostname()}\n"
    )
    # pip reaches PyPI through this machine's network, trusting what this machine trusts (its
    # CA bundle; on a Pi, Debian's): for every user, sudo's included, as /etc/pip.conf does.
    bundle = pi.path("/etc/ssl/certs/this-machine.pem")
    bundle.parent.mkdir(parents=True)
    shutil.copy(HOST_CA_BUNDLE, bundle)
    pi.path("/etc/pip.conf").write_text("[global]\ncert = /etc/ssl/certs/this-machine.pem\n")
    checkout = pi.path(CHECKOUT)
    shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(*SKIPPED_IN_COPIES))
    subprocess.run(["chown", "-R", "1000:1000", str(pi.path(HOME))], check=True)
    return pi


@pytest.fixture(scope="module")
def certs(pi: arm64.Chroot) -> SimCerts:
    """The simulator's CA and the robot's certificate, in the Pi's checkout."""
    made = make_certs(pi.path(f"{CHECKOUT}/sim-certs"), THING)
    subprocess.run(["chown", "-R", "1000:1000", str(made.ca.parent)], check=True)
    return made


@pytest.fixture(scope="module")
def cloud(certs: SimCerts, pi: arm64.Chroot) -> Iterator[dict[str, object]]:
    """The simulator's broker, KVS signaling service and credentials provider on loopback."""
    store = CredentialStore()
    grants = {f"{THING}-camera": lambda thing: Permissions(MASTER_ACTIONS, thing)}
    with (
        BackgroundLoop("arm64-aws") as loop,
        Broker(pi.upper.parent / "broker", certs, THING) as broker,
    ):
        kvs = loop.enter(KvsSignalingService(store, certs.server, region=REGION, channels=[THING]))
        provider = loop.enter(
            CredentialsProvider(
                store,
                grants,
                ca=certs.ca,
                server_cert=certs.server.cert,
                server_key=certs.server.key,
            )
        )
        yield {"broker_port": broker.port, "kvs": kvs.url, "provider": f"localhost:{provider.port}"}


def inside(path: Path, pi: arm64.Chroot) -> str:
    return "/" + str(path.relative_to(pi.upper))


@pytest.fixture(scope="module")
def robot_config(pi: arm64.Chroot, certs: SimCerts, cloud: dict[str, object]) -> str:
    """config.json in the checkout for the simulator's endpoints, the test pattern camera."""
    settings = {
        "IOT_THINGNAME": THING,
        "IOT_CORE_ENDPOINT": "localhost",
        "IOT_CORE_PORT": cloud["broker_port"],
        "IOT_GET_CREDENTIAL_ENDPOINT": cloud["provider"],
        "ROLE_ALIAS": f"{THING}-camera",
        "AWS_DEFAULT_REGION": REGION,
        "KVS_ENDPOINT_URL": cloud["kvs"],
        "ROOT_CA_PATH": inside(certs.ca, pi),
        "CERTIFICATE_PATH": inside(certs.robot.cert, pi),
        "PRIVATE_KEY_PATH": inside(certs.robot.key, pi),
        "VIDEO_SOURCE": "testpattern",
    }
    path = pi.path(f"{CHECKOUT}/config.json")
    path.write_text(json.dumps(settings, indent=2))
    return f"{CHECKOUT}/config.json"


def install(
    pi: arm64.Chroot, *args: str, board: str, **env: str
) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    result = pi.run(f"{CHECKOUT}/install.sh", *args, MOTOR_DRIVER=board, **env)
    print(f"install.sh {' '.join(args)} ({board}): {time.monotonic() - started:.0f} s")
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_the_sts_pi_kit_installs_as_the_pi_user_keeping_apt_numpy(pi, robot_config):
    result = install(pi, board="explorerhat")
    assert "installing with apt:" in result.stdout
    assert "Amazon's root CA from /usr/share/ca-certificates" in result.stdout
    ca = pi.seen(f"{CHECKOUT}/certs/cacert.pem").read_text()
    assert hashlib.sha256(ssl.PEM_cert_to_DER_cert(ca)).hexdigest() == AMAZON_ROOT_CA_SHA256
    numpy = pi.run(VENV_PYTHON, "-c", "import numpy; print(numpy.__file__, numpy.__version__)")
    assert numpy.stdout.split()[0] == SYSTEM_NUMPY, numpy.stdout + numpy.stderr
    assert numpy.stdout.split()[1].startswith("1.24.")  # Bookworm's
    checked = pi.run(f"{CHECKOUT}/.venv/bin/robot", "check-config", "--config", robot_config)
    assert checked.returncode == 0, checked.stderr
    assert "board explorerhat" in checked.stdout


def wait_for_line(process: subprocess.Popen[str], text: str, timeout: float) -> list[str]:
    """Lines of its output until one holds ``text``; AssertionError with them otherwise."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 1.0)
        if not ready:
            continue
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line.rstrip())
        if text in line:
            return seen
    raise AssertionError(f"no {text!r} within {timeout} s:\n" + "\n".join(seen[-40:]))


def test_the_producer_streams_its_test_pattern_on_arm64(pi, robot_config, certs, cloud):
    settings = json.loads(pi.path(robot_config).read_text())
    command = [
        VENV_PYTHON,
        "-m",
        "robot.producer",
        "--thing",
        THING,
        "--region",
        REGION,
        "--credential-endpoint",
        settings["IOT_GET_CREDENTIAL_ENDPOINT"],
        "--role-alias",
        settings["ROLE_ALIAS"],
        "--certificate",
        settings["CERTIFICATE_PATH"],
        "--private-key",
        settings["PRIVATE_KEY_PATH"],
        "--root-ca",
        settings["ROOT_CA_PATH"],
        "--source",
        "testpattern",
        "--kvs-endpoint-url",
        settings["KVS_ENDPOINT_URL"],
    ]
    argv = pi.argv(command, PYTHONUNBUFFERED="1")
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as producer:
        try:
            wait_for_line(producer, "media-status", pi.remaining())
            python = first_child(producer.pid)
            print(f"producer on arm64 (under qemu), ready: RSS {rss_mb(python):.0f} MB")
        finally:
            stop(producer)


def test_doctor_reports_only_what_is_missing_off_a_pi(pi, robot_config):
    # With the Pi's camera: picamera2 (the stand-in, on apt's numpy) imports, and finds none.
    settings = json.loads(pi.path(robot_config).read_text())
    camera_config = f"{CHECKOUT}/config-picamera2.json"
    pi.path(camera_config).write_text(json.dumps({**settings, "VIDEO_SOURCE": "picamera2"}))
    result = pi.run(f"{CHECKOUT}/.venv/bin/robot", "doctor", "--config", camera_config)
    failed = {
        line[5:].split(":")[0] for line in result.stdout.splitlines() if line.startswith("FAIL")
    }
    expected = set(EXPECTED_OFF_A_PI)
    if not kernel_clock_synced():  # the chroot has this machine's kernel clock
        expected.add("clock")
    assert failed == expected, result.stdout + result.stderr
    assert result.returncode == 1
    lines = result.stdout
    assert "ok   IoT endpoint: mutual TLS with localhost:" in lines
    assert "ok   credentials provider:" in lines
    assert "ok   video producer: python, source picamera2" in lines
    assert "FAIL camera: none detected" in lines
    assert "FAIL board: no Raspberry Pi GPIO chip" in lines
    assert "FAIL service: robot.service is not installed" in lines


def test_the_daemon_connects_on_arm64(pi, robot_config):
    """robot run with the simulated board, video on: READY=1 once the link is up."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        address = f"\0telepresence-robot-arm64-{os.getpid()}"
        notify.bind(address)
        notify.settimeout(pi.remaining())
        argv = pi.argv(
            [f"{CHECKOUT}/.venv/bin/robot", "run", "--config", robot_config],
            MOTOR_DRIVER="sim",
            NOTIFY_SOCKET="@" + address[1:],
        )
        with subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as daemon:
            try:
                messages = []
                while "READY=1" not in messages:
                    messages += notify.recv(4096).decode().splitlines()
                robot = first_child(daemon.pid)
                first_child(robot, timeout=pi.remaining())  # video is on: its producer
                print(f"daemon on arm64 (under qemu), connected: RSS {rss_mb(robot):.0f} MB")
            finally:
                stop(daemon)


@pytest.mark.parametrize("board", ["adafruit", "gpiozero", "serial"])
def test_every_other_board_installs_and_checks_out(pi, robot_config, board):
    result = install(pi, board=board)
    if board == "adafruit":  # Debian has no raspi-config: said, and the install goes on
        assert "warning: no raspi-config here, so I2C is left as it is" in result.stdout
    checked = pi.run(
        f"{CHECKOUT}/.venv/bin/robot", "check-config", "--config", robot_config, MOTOR_DRIVER=board
    )
    assert checked.returncode == 0, checked.stderr
    assert f"board {board}" in checked.stdout


def test_the_service_leaves_the_layout_the_guide_describes(pi, robot_config):
    result = install(pi, "--service", board="serial", **OFFLINE)
    assert "the robot service is running" in result.stdout  # check-config passed
    etc = pi.seen("/etc/telepresence-robot")
    assert (etc.stat().st_mode & 0o777) == 0o700
    owner = pi.run("stat", "-c", "%U %a", "/etc/telepresence-robot/config.json", user=None)
    assert owner.stdout.split() == ["robot", "600"]
    groups = pi.run("id", "-nG", "robot", user=None).stdout.split()
    assert {"robot", "gpio", "i2c", "dialout", "video"} <= set(groups)
    enabled = pi.run("systemctl", "is-enabled", "robot.service", user=None, **OFFLINE)
    assert enabled.stdout.strip() == "enabled"
    unit = pi.seen("/etc/systemd/system/robot.service").read_text()
    assert "time-sync.target" not in unit
    verify = pi.run("systemd-analyze", "verify", "robot.service", user=None, **OFFLINE)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # Its own venv, installed from a wheel (not linked to the checkout), with apt's numpy.
    python = "/opt/telepresence-robot/venv/bin/python"
    where = pi.run(python, "-c", "import robot, numpy; print(robot.__file__, numpy.__file__)")
    robot_file, numpy_file = where.stdout.split()
    assert robot_file.startswith("/opt/telepresence-robot/venv/lib/")
    assert numpy_file == SYSTEM_NUMPY
    # Nothing in the checkout belongs to root: the wheel was built as the user, elsewhere.
    owned = pi.run("find", CHECKOUT, "-not", "-user", arm64.USER, user=None)
    assert owned.stdout == "", owned.stdout
    assert not pi.seen(f"{CHECKOUT}/build").exists()

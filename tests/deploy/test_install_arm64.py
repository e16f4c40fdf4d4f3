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
OFFLINE = {"SYSTEMD_OFFLINE": "1"}  # systemctl and systemd-analyze without a running systemd
STOP_TIMEOUT_S = 60  # the daemon stops its producer first; under emulation that takes seconds
# Its ready line under emulation on a busy machine comes within a minute or two.
PRODUCER_READY_S = 300
SYSTEM_NUMPY = "/usr/lib/python3/dist-packages/numpy/__init__.py"
# A board that cannot be reached off a Pi, a camera that is not there, a service not running:
# what doctor must say, and nothing else, in an emulated root on a machine that is not a Pi.
EXPECTED_OFF_A_PI = {"board", "camera", "service"}

# The module's own limits (arm64.BUILD_LIMIT_S and TIME_LIMIT_S, which say during what they
# ran out) replace the suite's per-test one: the first test waits for the root and the
# first install.
pytestmark = pytest.mark.timeout(arm64.BUILD_LIMIT_S + arm64.TIME_LIMIT_S + 60)


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
def pi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[arm64.Chroot]:
    try:
        arm64.ensure_emulation()
    except arm64.Unavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the arm64 install test: {exc}")
        pytest.skip(f"no arm64 emulation here: {exc}")
    folder = tmp_path_factory.mktemp("arm64")
    started = time.monotonic()
    lower, built = arm64.image(folder / "mmdebstrap.log")
    print(f"\narm64 root: {'built' if built else 'cached'} in {time.monotonic() - started:.0f} s")
    pi = arm64.Chroot(lower, folder, time.monotonic() + arm64.TIME_LIMIT_S)
    # Raspberry Pi's archive, served by the stand-ins, and Debian's security updates.
    build_archive(pi.path("/srv/pi-archive"))
    sources = pi.path("/etc/apt/sources.list.d/raspi.list")
    sources.parent.mkdir(parents=True)
    sources.write_text("deb [trusted=yes] file:/srv/pi-archive ./\n")
    shutil.copy("/etc/resolv.conf", pi.path("/etc/resolv.conf"))
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
    began = time.monotonic()
    yield pi
    print(f"arm64 install test: {time.monotonic() - began:.0f} s after the root was ready")


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


def wait_for_line(process: subprocess.Popen[bytes], text: str, timeout: float) -> list[str]:
    """Lines of its output until one holds ``text``; AssertionError with them otherwise.
    Read from the pipe itself: a buffered reader may hold the line select() cannot see."""
    seen: list[str] = []
    pending = b""
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    fd = process.stdout.fileno()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        *lines, pending = (pending + chunk).split(b"\n")
        seen += [line.decode(errors="replace") for line in lines]
        if any(text in line for line in seen):
            return seen
    raise AssertionError(f"no {text!r} within {timeout:.0f} s:\n" + "\n".join(seen[-40:]))


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
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as producer:
        try:
            wait_for_line(producer, "media-status", min(pi.remaining(), PRODUCER_READY_S))
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


# serial: as the service (below), which checks its config too.
@pytest.mark.parametrize("board", ["adafruit", "gpiozero"])
def test_the_other_hats_install_and_check_out(pi, robot_config, board):
    result = install(pi, board=board)
    if board == "adafruit":  # Debian has no raspi-config: said, and the install goes on
        assert "warning: no raspi-config here, so I2C is left as it is" in result.stdout
    checked = pi.run(
        f"{CHECKOUT}/.venv/bin/robot", "check-config", "--config", robot_config, MOTOR_DRIVER=board
    )
    assert checked.returncode == 0, checked.stderr
    assert f"board {board}" in checked.stdout


def test_the_service_leaves_the_layout_the_guide_describes(pi, robot_config, certs):
    # The robot's files where `robot provision` puts them, named relative to the config.
    checkout = pi.path(CHECKOUT)
    (checkout / "certs").mkdir(exist_ok=True)  # made by an earlier install, if one ran
    shutil.copy(certs.robot.cert, checkout / "certs" / "certificate.pem.crt")
    shutil.copy(certs.robot.key, checkout / "certs" / "private.pem.key")
    settings = json.loads(pi.path(robot_config).read_text())
    settings.update(
        MOTOR_DRIVER="serial",
        ROOT_CA_PATH="certs/cacert.pem",
        CERTIFICATE_PATH="certs/certificate.pem.crt",
        PRIVATE_KEY_PATH="certs/private.pem.key",
    )
    pi.path(robot_config).write_text(json.dumps(settings, indent=2))
    subprocess.run(["chown", "-R", "1000:1000", str(checkout)], check=True)
    # No systemd runs as PID 1 in the chroot: install.sh enables the unit and starts nothing.
    result = install(pi, "--service", board="serial")
    assert "the robot service is enabled; no systemd runs here" in result.stdout
    assert ", board serial," in result.stdout  # its check-config, as root
    assert "systemctl" not in result.stderr, result.stderr
    # Root's, read by the service's group: the daemon cannot change its own config or key.
    etc = "/etc/telepresence-robot"
    layout = pi.run(
        "stat",
        "-c",
        "%n %U:%G %a",
        etc,
        f"{etc}/certs",
        f"{etc}/state",
        f"{etc}/config.json",
        f"{etc}/certs/private.pem.key",
        user=None,
    )
    assert layout.stdout.splitlines() == [
        f"{etc} root:robot 750",
        f"{etc}/certs root:robot 750",
        f"{etc}/state robot:robot 700",
        f"{etc}/config.json root:robot 640",
        f"{etc}/certs/private.pem.key root:robot 640",
    ], layout.stdout + layout.stderr
    key = f"{etc}/certs/private.pem.key"
    as_robot = ("runuser", "-u", "robot", "--")  # it has no home, nor a shell
    assert pi.run(*as_robot, "head", "-c", "0", key, user=None).returncode == 0  # it reads it
    assert pi.run(*as_robot, "test", "-w", key, user=None).returncode != 0  # not changes it
    groups = pi.run("id", "-nG", "robot", user=None).stdout.split()
    assert {"robot", "gpio", "i2c", "dialout", "video"} <= set(groups)
    enabled = pi.run("systemctl", "is-enabled", "robot.service", user=None, **OFFLINE)
    assert enabled.stdout.strip() == "enabled"
    unit = pi.seen("/etc/systemd/system/robot.service").read_text()
    ordering = [line for line in unit.splitlines() if line.startswith(("After=", "Wants="))]
    assert ordering and not any("time-sync.target" in line for line in ordering)
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

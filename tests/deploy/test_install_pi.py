"""install.sh's Raspberry Pi path, run on this machine from a copy of the checkout.

What only a Pi has is replaced by named stand-ins (tests/deploy/standins/: apt-get and
dpkg-query for the Pi's apt repository, raspi-config, dpkg's architecture, and systemctl,
useradd, groupadd, usermod, sudo, which would change this machine) and by install.sh's
overrides (the device tree's model, the root CA's file and URL, where the service goes).
Python, pip, the venvs and the package install are real.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STANDINS = Path(__file__).parent / "standins"
INSTALL_TIMEOUT_S = 600  # pip downloads on a fresh machine; a safety net, not a timing check
# Amazon Root CA 1, as Debian's ca-certificates ships it (a public certificate).
AMAZON_CA = Path(__file__).parent / "AmazonRootCA1.pem"
# What a fresh clone does not have: a copy of the checkout leaves these out.
SKIPPED_IN_COPIES = (
    ".git",
    ".venv",
    ".sim",
    "build",
    "certs",
    "operator-keys",
    "__pycache__",
    "*.egg-info",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    ".aws-sam",
)


def run(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the project, as a clone in a home folder would be."""
    clone = tmp_path / "home" / "pi" / "telepresence-robot"
    shutil.copytree(
        ROOT,
        clone,
        ignore=shutil.ignore_patterns(*SKIPPED_IN_COPIES),
    )
    return clone


@pytest.fixture
def install(tmp_path: Path, checkout: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    state = tmp_path / "standin-state"
    state.mkdir()

    def install(
        *args: str,
        model: str = "Raspberry Pi 4 Model B Rev 1.5",
        arch: str = "arm64",
        succeeds: bool = True,
        **env: str,
    ) -> subprocess.CompletedProcess[str]:
        model_file = tmp_path / "device-tree-model"
        model_file.write_bytes(model.encode() + b"\0")  # as the kernel writes it
        environ = {
            **os.environ,
            "PATH": f"{STANDINS}{os.pathsep}{os.environ['PATH']}",
            "STANDIN_STATE": str(state),
            "STANDIN_ARCH": arch,
            "PYTHON": sys.executable,
            "DEVICE_TREE_MODEL": str(model_file),
            "AMAZON_ROOT_CA_FILE": str(AMAZON_CA),
            "AMAZON_ROOT_CA_URL": (tmp_path / "nothing-here.pem").as_uri(),
            "ROBOT_USER": run("id", "-un").stdout.strip(),
            "ROBOT_CONFIG_OWNER": run("id", "-un").stdout.strip(),  # root on a Pi
            "ROBOT_HOME": str(tmp_path / "opt" / "telepresence-robot"),
            "ROBOT_ETC": str(tmp_path / "etc" / "telepresence-robot"),
            "SYSTEMD_UNIT_DIR": str(tmp_path / "etc" / "systemd" / "system"),
            **env,
        }
        (tmp_path / "etc" / "systemd" / "system").mkdir(parents=True, exist_ok=True)
        result = run(
            str(checkout / "install.sh"),
            *args,
            env=environ,
            cwd=tmp_path,
            timeout=INSTALL_TIMEOUT_S,
        )
        assert (result.returncode == 0) == succeeds, result.stdout + result.stderr
        return result

    return install


@pytest.fixture
def calls(tmp_path: Path) -> Callable[[], list[str]]:
    """The stand-ins' calls so far, one line each."""
    log = tmp_path / "standin-state" / "calls"
    return lambda: log.read_text().splitlines() if log.exists() else []


def distributions(venv: Path) -> set[str]:
    script = (
        "import importlib.metadata as m; print('\\n'.join(d.metadata['Name'].lower() "
        "for d in m.distributions()))"
    )
    return set(run(str(venv / "bin" / "python"), "-c", script).stdout.split())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_sts_pi_kit_on_a_pi_4_without_compiling_rpi_gpio(install, calls, checkout):
    result = install(MOTOR_DRIVER="explorerhat")
    apt = [call for call in calls() if call.startswith("apt-get install")]
    assert len(apt) == 1
    packages = set(apt[0].split())
    assert {
        "python3-rpi-lgpio",
        "python3-lgpio",
        "python3-smbus",
        "python3-picamera2",
        "python3-venv",
        "i2c-tools",
        "iw",
        "--no-install-recommends",
    } <= packages
    assert not {"python3-dev", "python3-rpi.gpio", "build-essential"} & packages
    assert not any(call.startswith("raspi-config nonint do_i2c") for call in calls())

    venv = checkout / ".venv"
    assert "include-system-site-packages = true" in (venv / "pyvenv.cfg").read_text()
    installed = distributions(venv)
    assert {"explorerhat", "cap1xxx", "telepresence-robot"} <= installed
    assert "rpi.gpio" not in installed  # apt's rpi-lgpio shim provides the module on a Pi
    assert (checkout / "certs" / "cacert.pem").read_text() == AMAZON_CA.read_text()
    assert f"Amazon's root CA from {AMAZON_CA} in certs/cacert.pem" in result.stdout
    # apt's numpy (here: the Python that made the venv) is kept, not shadowed by pip's.
    where = run(str(venv / "bin" / "python"), "-c", "import numpy; print(numpy.__file__)")
    assert not Path(where.stdout.strip()).is_relative_to(venv), where.stdout + where.stderr
    assert mode(checkout / "certs") == 0o700
    assert not any(call.startswith("systemctl") for call in calls())
    assert "computer: Raspberry Pi 4 Model B Rev 1.5" in result.stdout

    # Again: nothing is done twice.
    before, venv_id = calls(), (venv / "pyvenv.cfg").stat().st_ino
    again = install(MOTOR_DRIVER="explorerhat")
    assert calls() == before
    assert (venv / "pyvenv.cfg").stat().st_ino == venv_id
    assert "installing with apt" not in again.stdout
    assert "root CA" not in again.stdout


def write_valid_config(checkout: Path, board: str) -> None:
    config = json.loads((checkout / "config.json").read_text())
    config.update(
        IOT_THINGNAME="stspi",
        IOT_CORE_ENDPOINT="abc-ats.iot.eu-west-1.amazonaws.com",
        AWS_DEFAULT_REGION="eu-west-1",
        MOTOR_DRIVER=board,
    )
    (checkout / "config.json").write_text(json.dumps(config))
    (checkout / "certs").mkdir(exist_ok=True)
    (checkout / "certs" / "certificate.pem").write_text("a certificate\n")
    (checkout / "certs" / "private.pem.key").write_text("a key\n")


def test_the_adafruit_hat_on_a_pi_5_as_a_service(install, calls, checkout, tmp_path):
    subprocess.run([sys.executable, "-m", "venv", str(checkout / ".venv")], check=True)
    write_valid_config(checkout, "adafruit")

    # A key that an earlier install left to the service user: kept, its mode made 640.
    earlier = tmp_path / "etc" / "telepresence-robot" / "certs" / "private.pem.key"
    earlier.parent.mkdir(parents=True)
    earlier.write_text("the earlier key")
    earlier.chmod(0o600)

    result = install("--service", model="Raspberry Pi 5 Model B Rev 1.0", MOTOR_DRIVER="adafruit")
    made = calls()
    assert "Pi 5: GPIO through lgpio" in result.stdout
    assert "raspi-config nonint get_i2c" in made and "raspi-config nonint do_i2c 0" in made
    # The --sim-style venv could not see apt's packages: made again.
    assert "does not see apt's packages" in result.stdout
    assert "include-system-site-packages = true" in (checkout / ".venv" / "pyvenv.cfg").read_text()

    user = run("id", "-un").stdout.strip()
    assert f"usermod -a -G gpio,i2c,dialout,video {user}" in made
    home, etc = tmp_path / "opt" / "telepresence-robot", tmp_path / "etc" / "telepresence-robot"
    assert {"adafruit-circuitpython-motorkit", "telepresence-robot"} <= distributions(home / "venv")
    unit = (tmp_path / "etc" / "systemd" / "system" / "robot.service").read_text()
    assert f"ExecStart={home}/venv/bin/robot run --config {etc}/config.json" in unit
    assert f"User={user}\n" in unit and "=/opt/telepresence-robot" not in unit
    # Read by the service's group, changed by their owner (root on a Pi) only.
    assert mode(etc) == 0o750 and mode(etc / "certs") == 0o750
    assert mode(etc / "state") == 0o700
    for private in ("config.json", "certs/private.pem.key", "certs/cacert.pem"):
        assert mode(etc / private) == 0o640, private
    assert earlier.read_text() == "the earlier key"
    assert "systemctl daemon-reload" in made
    assert "systemctl enable --quiet robot.service" in made  # no waiting for NTP
    assert made[-1] == "systemctl restart robot.service"  # its config checked out
    # Installed from a wheel built from a clean copy, not from the checkout in place (the
    # egg-info there is the user's editable install's).
    assert not (checkout / "build").exists()
    [site] = (home / "venv").glob("lib/python*/site-packages")
    assert (site / "robot" / "__init__.py").is_file()
    [dist] = site.glob("telepresence_robot-*.dist-info")
    assert '"archive_info"' in (dist / "direct_url.json").read_text()  # a wheel, not editable


def test_the_root_ca_is_downloaded_when_ca_certificates_lacks_it(install, checkout, tmp_path):
    result = install(
        MOTOR_DRIVER="serial",
        AMAZON_ROOT_CA_FILE=str(tmp_path / "no-such.crt"),
        AMAZON_ROOT_CA_URL=AMAZON_CA.as_uri(),
    )
    assert f"Amazon's root CA from {AMAZON_CA.as_uri()}" in result.stdout
    assert (checkout / "certs" / "cacert.pem").read_text() == AMAZON_CA.read_text()


def test_a_root_ca_with_another_fingerprint_is_refused_in_one_line(install, checkout, tmp_path):
    other = tmp_path / "other.pem"
    other.write_text(
        (Path(__file__).parent / "pi-archive" / "README.md").read_text()  # not a certificate
    )
    result = install(
        MOTOR_DRIVER="serial",
        AMAZON_ROOT_CA_FILE=str(other),
        AMAZON_ROOT_CA_URL=(tmp_path / "missing.pem").as_uri(),
        succeeds=False,
    )
    assert "not Amazon Root CA 1" in result.stdout
    assert result.stderr.strip().splitlines()[-1].startswith("install.sh: no Amazon Root CA 1")
    assert "Traceback" not in result.stderr
    assert not (checkout / "certs" / "cacert.pem").exists()


def test_32_bit_raspberry_pi_os_is_told_what_it_gets(install):
    result = install(MOTOR_DRIVER="serial", arch="armhf")
    assert "32-bit Raspberry Pi OS: the daemon and every board work" in result.stdout


def test_the_installer_and_its_stand_ins_pass_shellcheck():
    scripts = [ROOT / "install.sh", ROOT / ".ci" / "run", *sorted(STANDINS.iterdir())]
    result = run("shellcheck", *map(str, scripts))
    assert result.returncode == 0, result.stdout

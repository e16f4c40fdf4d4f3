#!/usr/bin/env bash
# Bootstrap the robot. Safe to run again: each step is skipped when already done.
#
#   ./install.sh --sim   a laptop or CI: mosquitto, .venv, the package with the simulator
#                        and everything the tests need
#   ./install.sh         a Raspberry Pi: .venv (seeing apt's picamera2), the package with
#                        the board named by $MOTOR_DRIVER (default explorerhat)
set -euo pipefail
cd "$(dirname "$0")"

mode=pi
for arg in "$@"; do
    case "$arg" in
        --sim) mode=sim ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
    esac
done

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
    echo "installing with apt: $*"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "install.sh: needs Python 3.11 or newer as '$python' (set PYTHON=... to choose one)" >&2
    exit 1
fi

if [ "$mode" = sim ]; then
    if ! command -v mosquitto >/dev/null && [ ! -x /usr/sbin/mosquitto ]; then
        apt_install mosquitto
    fi
    [ -d .venv ] || "$python" -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -e ".[dev]"
    echo "ready: .venv/bin/robot sim   (tests: .venv/bin/python -m pytest)"
else
    board=${MOTOR_DRIVER:-explorerhat}
    case "$board" in
        explorerhat) apt_install python3-venv python3-smbus i2c-tools ;;
        adafruit) apt_install python3-venv i2c-tools ;;
        gpiozero|serial) apt_install python3-venv ;;
        *) echo "install.sh: unknown MOTOR_DRIVER '$board'" >&2; exit 2 ;;
    esac
    # picamera2 comes from apt (it needs libcamera's bindings): let the venv see it.
    [ -d .venv ] || "$python" -m venv --system-site-packages .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -e ".[$board]"
    mkdir -p certs && chmod 700 certs
    echo "ready: put the certificates in certs/, fill in config.json, then:"
    echo "  .venv/bin/robot check-config && .venv/bin/robot run"
fi

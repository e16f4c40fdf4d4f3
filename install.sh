#!/usr/bin/env bash
# Bootstrap the robot. Safe to run again: each step is skipped when already done.
#
#   ./install.sh --sim   a laptop or CI: mosquitto, .venv, the package with the simulator
#                        and everything the tests need
#   ./install.sh         a Raspberry Pi: .venv (seeing apt's picamera2), the package with
#                        the board named by $MOTOR_DRIVER (default explorerhat) and video
#   ./install.sh --kvs-sample   also build AWS's KVS WebRTC C SDK sample (release
#                        $KVS_SDK_VERSION) with IoT credentials, for VIDEO_PRODUCER=kvs-c-sample
set -euo pipefail
cd "$(dirname "$0")"

mode=pi
kvs_sample=no
for arg in "$@"; do
    case "$arg" in
        --sim) mode=sim ;;
        --kvs-sample) kvs_sample=yes ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
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
    # The viewer page's tests drive Debian's chromium through Playwright (no browser download).
    if ! command -v chromium >/dev/null; then
        apt_install chromium
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
    apt_install python3-picamera2
    [ -d .venv ] || "$python" -m venv --system-site-packages .venv
    extras=$board
    case "$(uname -m)" in
        # aiortc's PyAV has wheels for 64-bit ARM and x86 only; on a 32-bit OS, choose
        # VIDEO_PRODUCER=kvs-c-sample (./install.sh --kvs-sample) or off.
        aarch64|x86_64) extras="$board,video" ;;
        *) echo "install.sh: no video extra on $(uname -m) (32-bit OS): see README, Video" ;;
    esac
    .venv/bin/pip install --quiet --disable-pip-version-check -e ".[$extras]"
    mkdir -p certs && chmod 700 certs
    echo "ready: put the certificates in certs/, fill in config.json, then:"
    echo "  .venv/bin/robot check-config && .venv/bin/robot run"
fi

if [ "$kvs_sample" = yes ]; then
    # AWS's KVS WebRTC C SDK at a pinned release, built with IoT credentials (the flag exists
    # from v1.11.0); its build fetches its dependencies from GitHub. The sample's GStreamer
    # source is autovideosrc (a USB camera) or testsrc; a CSI camera needs the python producer.
    version=${KVS_SDK_VERSION:-v1.12.1}
    apt_install git cmake build-essential pkg-config libssl-dev libcurl4-openssl-dev \
        liblog4cplus-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev \
        gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
        gstreamer1.0-plugins-ugly gstreamer1.0-tools
    src=.kvs-sdk/$version
    if [ ! -d "$src" ]; then
        git clone --quiet --depth 1 --branch "$version" \
            https://github.com/awslabs/amazon-kinesis-video-streams-webrtc-sdk-c.git "$src"
    fi
    cmake -S "$src" -B "$src/build" -DIOT_CORE_ENABLE_CREDENTIALS=ON -DBUILD_SAMPLE=ON \
        -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$src/build" --target kvsWebrtcClientMasterGstSample -j "$(nproc)"
    mkdir -p bin && cp "$src/build/samples/kvsWebrtcClientMasterGstSample" bin/
    echo "built: set \"VIDEO_PRODUCER\": \"kvs-c-sample\" and \"KVS_SAMPLE_PATH\": \"bin/kvsWebrtcClientMasterGstSample\""
fi

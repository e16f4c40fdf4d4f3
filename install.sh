#!/usr/bin/env bash
# Bootstrap the robot. Safe to run again: each step is skipped when already done.
#
#   ./install.sh --sim      a laptop or CI: mosquitto, coturn, .venv, the package with the simulator
#                           and everything the tests need
#   ./install.sh            a Raspberry Pi (Raspberry Pi OS Bookworm): the apt packages of the
#                           board named by $MOTOR_DRIVER (default explorerhat) and the camera,
#                           I2C if the board needs it, .venv seeing apt's packages (and keeping
#                           apt's numpy), Amazon's root CA in certs/
#   ./install.sh --service  the same, then the daemon as a systemd service: docs/raspberry-pi.md
#   ./install.sh --kvs-sample   also build AWS's KVS WebRTC C SDK sample (release
#                           $KVS_SDK_VERSION) with IoT credentials: VIDEO_PRODUCER=kvs-c-sample
#
# Run it as your own user from the checkout, wherever it is; it uses sudo where it must.
set -euo pipefail
cd "$(dirname "$0")"

mode=pi
service=no
kvs_sample=no
for arg in "$@"; do
    case "$arg" in
        --sim) mode=sim ;;
        --service) service=yes ;;
        --kvs-sample) kvs_sample=yes ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
    esac
done

# What only a Pi has, named so a test can point it elsewhere.
device_tree_model=${DEVICE_TREE_MODEL:-/proc/device-tree/model}
# Amazon Root CA 1 ships in Debian's ca-certificates; the download is the fallback. Either is
# taken only with the certificate's SHA-256 fingerprint (as Amazon publishes it).
amazon_root_ca_file=${AMAZON_ROOT_CA_FILE:-/usr/share/ca-certificates/mozilla/Amazon_Root_CA_1.crt}
amazon_root_ca_url=${AMAZON_ROOT_CA_URL:-https://www.amazontrust.com/repository/AmazonRootCA1.pem}
amazon_root_ca_sha256=8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e
# Where --service puts things (docs/raspberry-pi.md).
service_user=${ROBOT_USER:-robot}
config_owner=${ROBOT_CONFIG_OWNER:-root}  # the tests' stand-ins run as their own user
robot_home=${ROBOT_HOME:-/opt/telepresence-robot}
robot_etc=${ROBOT_ETC:-/etc/telepresence-robot}
unit_dir=${SYSTEMD_UNIT_DIR:-/etc/systemd/system}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
    local missing=()
    local package
    for package in "$@"; do
        dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q "ok installed" ||
            missing+=("$package")
    done
    [ "${#missing[@]}" -eq 0 ] && return
    echo "installing with apt: ${missing[*]}"
    as_root apt-get update -qq
    # No recommends: picamera2 would bring a desktop's worth of GUI libraries.
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# A venv that sees apt's packages (picamera2, lgpio, smbus): an existing one that does not
# (made by --sim, say) is made again.
system_site_venv() {
    local venv=$1
    shift
    if [ -f "$venv/pyvenv.cfg" ] &&
        ! grep -q '^include-system-site-packages = true' "$venv/pyvenv.cfg"; then
        echo "$venv does not see apt's packages: making it again"
        "$@" rm -rf "$venv"
    fi
    [ -x "$venv/bin/python" ] || "$@" "$python" -m venv --system-site-packages "$venv"
}

# install_robot VENV SOURCE [PREFIX...]: the package from SOURCE (the checkout ".", installed
# editable, or a wheel) with its board's and video's extras into VENV, pip run through PREFIX
# (as_root, say). apt's numpy, which picamera2's C extensions are built against, is kept.
install_robot() {
    local pip=$1/bin/pip source=$2
    shift 2
    local install=("$@" "$pip" install --quiet --disable-pip-version-check)
    [ -s "$constraints" ] && install+=(--constraint "$constraints")
    local extras=()
    # explorerhat's library is installed below, without its dependencies.
    [ "$board" = explorerhat ] || extras+=("$board")
    # Video (aiortc): PyAV has wheels for 64-bit ARM and x86 only; on a 32-bit OS choose
    # VIDEO_PRODUCER=kvs-c-sample (--kvs-sample) or off.
    # Audio (pywebrtc-audio) has the same wheels.
    case "$(dpkg --print-architecture)" in arm64|amd64) extras+=(video audio) ;; esac
    local spec=$source
    [ "${#extras[@]}" -eq 0 ] || spec="${source}[$(IFS=,; echo "${extras[*]}")]"
    if [ "$source" = . ]; then
        "${install[@]}" -e "$spec"
    else
        "${install[@]}" "$spec"
        # The same version number again is a new build of the checkout: replace it.
        "${install[@]}" --no-deps --force-reinstall "$source"
    fi
    if [ "$board" = explorerhat ]; then
        # explorerhat needs cap1xxx, which requires the distribution "RPi.GPIO": apt's
        # python3-rpi-lgpio provides that module under another name, so pip would build
        # RPi.GPIO from source (and fail on Lite). The apt packages cover their imports.
        "${install[@]}" --no-deps "explorerhat==0.5.1" "cap1xxx==0.1.4"
    fi
}

# certs/cacert.pem: Amazon Root CA 1 from ca-certificates, else downloaded (with a timeout,
# three tries), each only with the right fingerprint.
install_root_ca() {
    local target=certs/cacert.pem
    "$python" - "$amazon_root_ca_file" "$amazon_root_ca_url" "$amazon_root_ca_sha256" \
        "$target" <<'PYTHON'
import hashlib, os, ssl, sys, time, urllib.request

local, url, expected, target = sys.argv[1:]

def fingerprint(pem):
    try:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    except ValueError:
        return None

def from_file():
    try:
        with open(local) as handle:
            return handle.read()
    except OSError:
        return None

def download():
    for attempt in range(3):
        try:
            with urllib.request.urlopen(url, timeout=20) as answer:
                return answer.read().decode("ascii", "replace")
        except (OSError, ValueError) as exc:
            print(f"  {url}: {exc}" + ("; trying again" if attempt < 2 else ""))
            time.sleep(2 * (attempt + 1) if attempt < 2 else 0)
    return None

for where, fetch in ((local, from_file), (url, download)):
    pem = fetch()
    if pem is None:
        continue
    if fingerprint(pem) != expected:
        print(f"  {where}: not Amazon Root CA 1 (SHA-256 {fingerprint(pem)}); not used")
        continue
    with open(target + ".part", "w") as handle:
        handle.write(pem)
    os.replace(target + ".part", target)
    print(f"Amazon's root CA from {where} in {target}")
    sys.exit(0)
sys.exit(f"install.sh: no Amazon Root CA 1 (neither {local} nor {url}): install "
         f"ca-certificates, or put AmazonRootCA1.pem at {target}, then run ./install.sh again")
PYTHON
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
    command -v shellcheck >/dev/null || apt_install shellcheck
    # The arm64 install test: an emulated Raspberry Pi OS made from Debian's archive.
    apt_install mmdebstrap arch-test qemu-user-static binfmt-support
    # The viewer page's tests drive Debian's chromium through Playwright (no browser download).
    command -v chromium >/dev/null || apt_install chromium
    # The console's KVS WebRTC JS SDK comes from npm when the console is built.
    command -v npm >/dev/null || apt_install npm
    # The simulator's TURN server; the network tests' namespaces, packet loss and bandwidth
    # caps (ip, tc; nft). apt_install skips what is there already.
    apt_install coturn iproute2 nftables
    # The simulated room speaks with espeak-ng, converted by sox (sim/robot/room.py).
    command -v espeak-ng >/dev/null || apt_install espeak-ng
    command -v sox >/dev/null || apt_install sox
    [ -d .venv ] || "$python" -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -e ".[dev]"
    # The real explorerhat library, run by the tests against simulated GPIO and I2C; its
    # dependencies are those simulations (see install_robot for why --no-deps).
    .venv/bin/pip install --quiet --disable-pip-version-check --no-deps \
        "explorerhat==0.5.1" "cap1xxx==0.1.4"
    .venv/bin/python deploy/console_sdk.py
    echo "ready: .venv/bin/robot sim   (tests: .venv/bin/python -m pytest)"
    exit 0
fi

# --- a Raspberry Pi ----------------------------------------------------------------------

board=${MOTOR_DRIVER:-explorerhat}
model=$(tr -d '\0' 2>/dev/null <"$device_tree_model" || true)
echo "board: $board; computer: ${model:-not a Raspberry Pi ($device_tree_model is missing)}"
case "$model" in
    *"Raspberry Pi 5"*)
        echo "Pi 5: GPIO through lgpio (RPi.GPIO cannot drive the Pi 5's RP1 chip)" ;;
esac
if [ "$(dpkg --print-architecture)" = armhf ]; then
    echo "32-bit Raspberry Pi OS: the daemon and every board work; video needs the 64-bit OS"
fi

# GPIO through lgpio on every Pi: python3-rpi-lgpio is the RPi.GPIO module on top of it.
# iw: the health report's Wi-Fi link (access point, rates), beside /proc/net/wireless;
# alsa-utils: arecord -L and aplay -L name the sound cards for AUDIO_OPTIONS.
packages=(python3-venv python3-pip ca-certificates python3-picamera2 iw alsa-utils)
case "$board" in
    explorerhat) packages+=(python3-smbus python3-lgpio python3-rpi-lgpio i2c-tools) ;;
    adafruit) packages+=(python3-lgpio python3-rpi-lgpio i2c-tools) ;;
    gpiozero) packages+=(python3-gpiozero python3-lgpio) ;;
    serial) packages+=(python3-serial) ;;
    *) echo "install.sh: unknown MOTOR_DRIVER '$board': explorerhat, adafruit, gpiozero or serial" >&2
       exit 2 ;;
esac
apt_install "${packages[@]}"

# The Adafruit HAT is an I2C chip (the Explorer HAT's motors are plain GPIO).
if [ "$board" = adafruit ]; then
    if ! command -v raspi-config >/dev/null; then
        echo "warning: no raspi-config here, so I2C is left as it is: if it is off, add" \
            "dtparam=i2c_arm=on to /boot/firmware/config.txt and reboot (robot doctor checks it)"
    elif [ "$(as_root raspi-config nonint get_i2c)" != 0 ]; then
        echo "enabling I2C"
        as_root raspi-config nonint do_i2c 0
    fi
fi

# pip keeps apt's numpy (python3-picamera2 brings it): a numpy 2 in .venv would hide it, and
# picamera2's C extensions (simplejpeg) are built against apt's.
constraints=$(mktemp)
trap 'rm -rf "$constraints" ${build:+"$build"}' EXIT
"$python" -c 'import numpy; print("numpy==" + numpy.__version__)' >"$constraints" 2>/dev/null ||
    : >"$constraints"

system_site_venv .venv
install_robot .venv .

mkdir -p certs && chmod 700 certs
[ -s certs/cacert.pem ] || install_root_ca

if [ "$kvs_sample" = yes ]; then
    # AWS's KVS WebRTC C SDK at a pinned release, built with IoT credentials (the cmake flag
    # exists from v1.11.0); its build fetches its dependencies from GitHub. The sample's
    # GStreamer source is autovideosrc (a USB camera) or testsrc: a CSI camera needs ours.
    version=${KVS_SDK_VERSION:-v1.12.1}
    apt_install git cmake build-essential pkg-config libssl-dev libcurl4-openssl-dev \
        liblog4cplus-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev \
        gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
        gstreamer1.0-plugins-ugly gstreamer1.0-tools
    src=.kvs-sdk/$version
    [ -d "$src" ] || git clone --quiet --depth 1 --branch "$version" \
        https://github.com/awslabs/amazon-kinesis-video-streams-webrtc-sdk-c.git "$src"
    cmake -S "$src" -B "$src/build" -DIOT_CORE_ENABLE_CREDENTIALS=ON -DBUILD_SAMPLE=ON \
        -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$src/build" --target kvsWebrtcClientMasterGstSample -j "$(nproc)"
    mkdir -p bin && cp "$src/build/samples/kvsWebrtcClientMasterGstSample" bin/
    echo "built bin/kvsWebrtcClientMasterGstSample: in config.json set"
    echo '  "VIDEO_PRODUCER": "kvs-c-sample", "KVS_SAMPLE_PATH": "bin/kvsWebrtcClientMasterGstSample"'
fi

if [ "$service" = no ]; then
    echo "ready: run .venv/bin/robot provision (or put the certificates in certs/ and fill in"
    echo "config.json), then: .venv/bin/robot check-config && .venv/bin/robot run"
    echo "as a service: ./install.sh --service"
    exit 0
fi

# --- the service -------------------------------------------------------------------------

if ! id -u "$service_user" >/dev/null 2>&1; then
    echo "creating the system user $service_user"
    as_root useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$service_user"
fi
for group in gpio i2c dialout video; do
    getent group "$group" >/dev/null || as_root groupadd --system "$group"
done
as_root usermod -a -G gpio,i2c,dialout,video "$service_user"
service_group=$(id -gn "$service_user")

# Its own venv, outside any home folder (the unit cannot see /home), not tied to this
# checkout: a wheel built by this user from a clean copy of it (no build/ or egg-info of root's
# in the checkout, no stale build/lib carrying deleted modules), installed by root.
build=$(mktemp -d)
tar -c --exclude=./.git --exclude=./.venv --exclude=./build --exclude='./*.egg-info' \
    --exclude=./certs --exclude=./.sim --exclude=./state . | tar -x -C "$build"
echo "building the package's wheel"
.venv/bin/pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir "$build/dist" \
    "$build" >/dev/null
wheel=$(echo "$build"/dist/telepresence_robot-*.whl)
chmod -R a+rX "$build"  # root may be another user on a network share
as_root mkdir -p "$robot_home"
system_site_venv "$robot_home/venv" as_root
install_robot "$robot_home/venv" "$wheel" as_root

# Config and certificates in one place: root's, read by the service's group and nobody else
# (root:robot, files 640, folders 750), so the daemon cannot change its own config or key;
# its state folder (the e-stop latch) is its own.
as_root install -d -m 750 -o "$config_owner" -g "$service_group" "$robot_etc" "$robot_etc/certs"
as_root install -d -m 700 -o "$service_user" -g "$service_group" "$robot_etc/state"
for file in config.json certs/*; do
    [ -f "$file" ] || continue
    if ! as_root test -e "$robot_etc/$file"; then  # never over an existing one
        as_root install -m 640 -o "$config_owner" -g "$service_group" "$file" "$robot_etc/$file"
    fi
done
# Those of an earlier install, which the service user owned, too.
as_root find "$robot_etc" -path "$robot_etc/state" -prune -o -type f \
    -exec chown "$config_owner:$service_group" {} + -exec chmod 640 {} +

sed -e "s|/opt/telepresence-robot|$robot_home|g" -e "s|/etc/telepresence-robot|$robot_etc|g" \
    -e "s|^User=robot$|User=$service_user|" -e "s|^Group=robot$|Group=$service_group|" \
    deploy/robot.service | as_root tee "$unit_dir/robot.service" >/dev/null
# In a chroot or an image being built no systemd runs ("offline"): the unit is enabled for
# the next boot, and nothing can be reloaded or started now.
systemd=$(systemctl is-system-running 2>/dev/null || true)
[ "$systemd" = offline ] || as_root systemctl daemon-reload
as_root systemctl enable --quiet robot.service
if ! as_root "$robot_home/venv/bin/robot" check-config --config "$robot_etc/config.json"; then
    echo "the service is installed and enabled; fix $robot_etc/config.json (above), then:"
    echo "  sudo systemctl restart robot"
elif [ "$systemd" = offline ]; then
    echo "the robot service is enabled; no systemd runs here (a chroot?): it starts at boot"
else
    as_root systemctl restart robot.service
    echo "the robot service is running: journalctl -u robot -f"
fi

"""An emulated Raspberry Pi OS for the arm64 install test: Debian 12 (Bookworm) for arm64, made
by mmdebstrap from Debian's archive and run under qemu-user-static through binfmt_misc.

The root is built once per day and package list and kept in a cache folder (read-only from
then on: every run works in an overlay above it, so a run changes nothing in it). A clean
machine builds it from scratch.
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
# What Raspberry Pi OS Lite has before install.sh runs (its default user may sudo).
IMAGE_PACKAGES = ["sudo", "systemd", "python3", "ca-certificates", "tar", "procps"]
# What install.sh asks apt for, on some board: downloaded into the root's apt cache when it is
# built, so each run installs them (for real) without waiting for the network.
INSTALLED_BY_SCRIPT = [
    "python3-venv",
    "python3-pip",
    "python3-numpy",
    "python3-smbus",
    "i2c-tools",
    "python3-gpiozero",
    "python3-serial",
]
USER = "pi"
# On the 2-core machine CI runs on: building the root, when no cached one is there, and then
# the whole test on it.
BUILD_LIMIT_S = 20 * 60
TIME_LIMIT_S = 20 * 60
# binfmt_misc: Debian's qemu-aarch64 entry runs set-user-ID programs (sudo) without their
# credentials. An entry of our own with the C flag, registered after it, is matched first.
BINFMT = Path("/proc/sys/fs/binfmt_misc")
BINFMT_NAME = "telepresence-robot-aarch64"
QEMU = Path("/usr/libexec/qemu-binfmt/aarch64-binfmt-P")
AARCH64_MAGIC = r"\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00"
AARCH64_MASK = r"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"


class Unavailable(RuntimeError):
    """This machine cannot emulate arm64; the message says what is missing."""


def cache_root() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "telepresence-robot" / "arm64"


def ensure_emulation() -> None:
    """binfmt_misc mounted, qemu-user-static's aarch64 entry, and ours with credentials."""
    if os.geteuid() != 0:
        raise Unavailable("needs root (a chroot, mounts, binfmt_misc)")
    for tool in ("mmdebstrap", "unshare", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise Unavailable(f"no {tool}: apt-get install mmdebstrap qemu-user-static")
    if not QEMU.exists():
        raise Unavailable(f"no {QEMU}: apt-get install qemu-user-static binfmt-support")
    if not (BINFMT / "register").exists():
        subprocess.run(
            ["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], check=True, timeout=30
        )
    if not (BINFMT / BINFMT_NAME).exists():
        rule = f":{BINFMT_NAME}:M:0:{AARCH64_MAGIC}:{AARCH64_MASK}:{QEMU}:PFC"
        (BINFMT / "register").write_text(rule)


def root_key() -> str:
    """Today's root for these packages: a new day's root has the archive's security fixes."""
    listing = " ".join([SUITE, MIRROR, *IMAGE_PACKAGES, "|", *INSTALLED_BY_SCRIPT])
    digest = hashlib.sha256(listing.encode()).hexdigest()[:12]
    return f"{datetime.date.today().isoformat()}-{digest}"


class TimeLimit(AssertionError):
    """The test's time limit ran out; the message says during what."""


def image(log: Path) -> tuple[Path, bool]:
    """The cached root for today (built if missing, within BUILD_LIMIT_S) and whether it was
    built now."""
    cache = cache_root()
    cache.mkdir(parents=True, exist_ok=True)
    root = cache / root_key()
    with (cache / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time; the others wait and reuse it
        if (root / "ready").exists():
            return root / "root", False
        for old in cache.iterdir():  # earlier days' roots
            if old.is_dir() and old != root:
                shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir()
        _build(root / "root", log, time.monotonic() + BUILD_LIMIT_S)
        (root / "ready").touch()
        return root / "root", True


def _build(target: Path, log: Path, deadline: float) -> None:
    sudoers = (
        f"echo '{USER} ALL=(ALL) NOPASSWD: ALL' > \"$1/etc/sudoers.d/010_pi-nopasswd\" && "
        'chmod 440 "$1/etc/sudoers.d/010_pi-nopasswd"'
    )
    hooks = [
        # Raspberry Pi OS's default user, who may sudo without a password.
        f'chroot "$1" useradd --create-home --shell /bin/bash {USER}',
        sudoers,
        # install.sh's packages, downloaded now; apt-get install unpacks them in each run.
        'chroot "$1" apt-get install --download-only -y -qq ' + " ".join(INSTALLED_BY_SCRIPT),
    ]
    command = [
        "mmdebstrap",
        "--mode=root",
        "--arch=arm64",
        "--variant=minbase",
        "--include=" + ",".join(IMAGE_PACKAGES),
        # apt keeps what it downloads (mmdebstrap empties the cache by default).
        "--skip=cleanup/apt/cache",
        *(f"--customize-hook={hook}" for hook in hooks),
        SUITE,
        str(target),
        MIRROR,
    ]
    with log.open("w") as out:
        try:
            result = subprocess.run(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=max(deadline - time.monotonic(), 1),
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise TimeLimit(
                f"the root's build ran over its {BUILD_LIMIT_S} s; its log: {log}"
            ) from None
    if result.returncode != 0:
        raise RuntimeError(f"mmdebstrap failed ({result.returncode}); its log: {log}")


class Chroot:
    """The cached root with an overlay of this run's own: files written under ``upper`` before a
    command show in the root; what commands write stays in ``upper``."""

    def __init__(self, lower: Path, folder: Path, deadline: float) -> None:
        self.lower = lower
        self.deadline = deadline
        self.upper = folder / "upper"
        self.work = folder / "work"
        self.merged = folder / "merged"
        for path in (self.upper, self.work, self.merged):
            path.mkdir(parents=True, exist_ok=True)

    def path(self, inside: str) -> Path:
        """Where a path of the root is written before a run (in the overlay's upper layer)."""
        return self.upper / inside.lstrip("/")

    def seen(self, inside: str) -> Path:
        """Where a path of the root, as the last command left it, is read from outside."""
        upper = self.path(inside)
        return upper if upper.exists() or upper.is_symlink() else self.lower / inside.lstrip("/")

    def argv(self, command: Sequence[str], user: str | None = USER, **env: str) -> list[str]:
        """A command run in the root (as ``user``; None: root) in a mount namespace of its own,
        so its mounts go when it ends, however it ends."""
        environ = {
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": f"/home/{user}" if user else "/root",
            "LANG": "C.UTF-8",
            "USER": user or "root",
            **env,
        }
        m = self.merged
        mounts = (
            f"mount -t overlay overlay -o lowerdir={self.lower},upperdir={self.upper},"
            f"workdir={self.work} {m} && mount -t proc proc {m}/proc && "
            f"mount --rbind /dev {m}/dev && mount -t sysfs sysfs {m}/sys && "
            f'exec chroot {"--userspec=" + user + ":" + user if user else ""} {m} "$@"'
        )
        home = ["--chdir", environ["HOME"]]
        return [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "--fork",
            "--kill-child",
            "sh",
            "-c",
            mounts,
            "chroot",
            "/usr/bin/env",
            "-i",
            *(f"{key}={value}" for key, value in environ.items()),
            "/usr/bin/env",
            *home,
            *command,
        ]

    def remaining(self) -> float:
        """Seconds left of the test's time limit; TimeLimit when none are."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeLimit(f"the arm64 install test's limit of {TIME_LIMIT_S} s ran out")
        return left

    def run(
        self, *command: str, user: str | None = USER, **env: str
    ) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                self.argv(command, user, **env),
                capture_output=True,
                text=True,
                timeout=self.remaining(),
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise TimeLimit(
                f"the arm64 install test's limit of {TIME_LIMIT_S} s ran out during "
                f"{' '.join(command)}"
            ) from None

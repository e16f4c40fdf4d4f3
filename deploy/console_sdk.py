"""Fetch the official KVS WebRTC JS SDK for the console, as the console is built.

    python3 deploy/console_sdk.py            # into cloud/console/, once per version

``npm pack`` fetches the pinned package from npm into ``build/npm/``; its tarball must match
the registry's integrity digest pinned here, and its browser bundle (``dist/kvs-webrtc.min.js``,
which defines ``window.KVSWebRTC``) and licence are copied beside the console's own files,
which the console Lambda's package and ``robot sim`` serve: the page never loads a script
from a CDN. ``install.sh --sim`` runs this (CI, ``robot sim``), and so does the console
Lambda's build (deploy/lambda/Makefile). Standard library and npm only.
"""

from __future__ import annotations

import base64
import hashlib
import io
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "amazon-kinesis-video-streams-webrtc"
VERSION = "2.9.0"
# What the registry publishes as the tarball's `dist.integrity` for this version.
INTEGRITY = (
    "sha512-GIAni+KW7TVWPd4LWHSr/0HtYnIDAgFqSaVxk17UKfX15hmXW"
    "pf2XyHSCBz1nI6pY076jIn1U4uYuxPNbaWhTw=="
)
# In the tarball -> in the console's folder.
FILES = {
    "package/dist/kvs-webrtc.min.js": "kvs-webrtc.min.js",
    "package/dist/kvs-webrtc.LICENSE": "kvs-webrtc.LICENSE",
}
CONSOLE = ROOT / "cloud" / "console"
BUILD = ROOT / "build" / "npm"


class SdkError(RuntimeError):
    pass


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def fetch(build: Path = BUILD) -> bytes:
    """The package's tarball, packed by npm into ``build`` (reused when already there)."""
    tarball = build / f"{PACKAGE}-{VERSION}.tgz"
    if not tarball.exists():
        build.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(
                ["npm", "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", str(build)],
                check=True,
                capture_output=True,
                timeout=300,
            )
        except FileNotFoundError as exc:
            raise SdkError("npm is not installed (Debian: apt install npm)") from exc
        except subprocess.CalledProcessError as exc:
            raise SdkError(f"npm pack failed: {exc.stderr.decode(errors='replace')}") from exc
    data = tarball.read_bytes()
    if integrity(data) != INTEGRITY:
        tarball.unlink()
        raise SdkError(f"{tarball.name} does not match the pinned integrity {INTEGRITY}")
    return data


def install(console: Path = CONSOLE, build: Path = BUILD) -> list[Path]:
    """Copy the SDK's browser bundle into ``console``; the files written."""
    written = []
    with tarfile.open(fileobj=io.BytesIO(fetch(build)), mode="r:gz") as archive:
        for member, name in FILES.items():
            source = archive.extractfile(member)
            if source is None:
                raise SdkError(f"{member} is missing from {PACKAGE} {VERSION}")
            target = console / name
            target.write_bytes(source.read())
            written.append(target)
    return written


def main() -> int:
    try:
        for path in install():
            print(f"{PACKAGE} {VERSION}: {path.relative_to(ROOT)}")
    except SdkError as exc:
        print(f"console_sdk: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The simulator's TURN server, as KVS's: coturn (Debian's ``coturn``) with time-limited
credentials by the TURN REST scheme, which is what ``GetIceServerConfig`` hands out in AWS.

coturn checks each credential itself: the username is the Unix time at which it expires (a
colon and a name may follow), the password the base64 of HMAC-SHA1 of the username under the
server's ``static-auth-secret``. A credential past its time is refused with 401, so a client
that keeps one longer than its ``Ttl`` cannot allocate a relay (a relay allocated in time lives
on). KVS's live 300 s; tests shorten that with ``ttl_s``.

    with TurnServer(state_dir) as turn:
        turn.ice_server()     # {"Uris": [...], "Username": ..., "Password": ..., "Ttl": 300}
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from robot.posix.processes import stop_child
from sim.processes import ChildService, spawn_child

HOST = "127.0.0.1"
REALM = "kinesisvideo.local"
TTL_S = 300  # KVS's
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
STUN_MAGIC = 0x2112A442
_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/bin", "/usr/sbin"])


class TurnError(RuntimeError):
    """coturn is missing, or did not start; the message says why and what to do."""


def rest_credential(secret: str, expires: int, name: str) -> tuple[str, str]:
    """A TURN REST username (``expires:name``) and its password under ``secret``."""
    username = f"{expires}:{name}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def find_turnserver() -> str:
    path = shutil.which("turnserver", path=_SEARCH_PATH)
    if path is None:
        raise TurnError("coturn is not installed: run `sudo apt install coturn`")
    return path


class TurnServer(ChildService):
    """coturn listening on ``host``:``port`` (UDP and TCP; port 0: a free one), relaying from
    ``relay_host`` (by default ``host``).

    On loopback (the simulator, whose viewers and robots share this machine) its peers are
    loopback addresses, which coturn refuses unless told (``allow-loopback-peers``).
    """

    def __init__(
        self,
        state_dir: Path,
        host: str = HOST,
        port: int = 0,
        relay_host: str | None = None,
        ttl_s: int = TTL_S,
        clock: Any = time.time,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.host = host
        self.port = port
        self.relay_host = relay_host or host
        self.ttl_s = ttl_s
        self.clock = clock
        self.secret = secrets.token_urlsafe(24)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def conf_path(self) -> Path:
        return self.state_dir / "turnserver.conf"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "turnserver.log"

    @property
    def uris(self) -> list[str]:
        """The TURN URIs, as KVS lists them (UDP first)."""
        return [
            f"turn:{self.host}:{self.port}?transport=udp",
            f"turn:{self.host}:{self.port}?transport=tcp",
        ]

    @property
    def stun_uri(self) -> str:
        return f"stun:{self.host}:{self.port}"

    def ice_server(self, name: str = "kvs") -> dict[str, Any]:
        """One entry of ``GetIceServerConfig``'s ``IceServerList``, its credential fresh."""
        username, password = rest_credential(self.secret, int(self.clock()) + self.ttl_s, name)
        return {"Uris": self.uris, "Username": username, "Password": password, "Ttl": self.ttl_s}

    def restart(self) -> None:
        """Start again on the same port with the same secret: credentials handed out before
        stay good."""
        self.stop()
        self.start()

    def start(self) -> None:
        """Start coturn and return once it answers a STUN binding request."""
        if self._process is not None:
            raise TurnError("TURN server already started")
        binary = find_turnserver()
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.port = self.port or _free_port(self.host)
        self.conf_path.write_text(self._config())
        self.conf_path.chmod(0o600)  # it holds the secret
        try:
            with self.log_path.open("ab") as log:
                self._process = spawn_child([binary, "-c", str(self.conf_path)], log)
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            stop_child(process, STOP_TIMEOUT_S)

    def _config(self) -> str:
        lines = [
            f"listening-ip={self.host}",
            f"listening-port={self.port}",
            f"relay-ip={self.relay_host}",
            f"realm={REALM}",
            "use-auth-secret",
            f"static-auth-secret={self.secret}",
            "fingerprint",
            # No TLS certificate of its own; the web admin and CLI are not wanted here.
            "no-tls",
            "no-dtls",
            "no-cli",
            "no-tcp-relay",
            f"pidfile={self.state_dir / 'turnserver.pid'}",
            f"userdb={self.state_dir / 'turndb'}",  # not the system's
            "log-file=stdout",
            "simple-log",
        ]
        if _is_loopback(self.relay_host):
            lines.append("allow-loopback-peers")
        return "\n".join(lines) + "\n"

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.exited():
                raise TurnError(f"coturn exited at start:\n{self._log_tail()}")
            if stun_binding(self.host, self.port, timeout_s=0.2):
                return
        raise TurnError(f"coturn did not answer within {START_TIMEOUT_S} s:\n{self._log_tail()}")

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return "(no coturn log)"


def stun_binding(host: str, port: int, timeout_s: float = 1.0) -> bool:
    """Whether a STUN server on ``host``:``port`` (UDP) answers a binding request in time."""
    transaction = secrets.token_bytes(12)
    request = (0x0001).to_bytes(2, "big") + bytes(2) + STUN_MAGIC.to_bytes(4, "big") + transaction
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(timeout_s)
        try:
            probe.sendto(request, (host, port))
            answer = probe.recv(2048)
        except OSError:
            return False
    return answer[:2] == (0x0101).to_bytes(2, "big") and answer[8:20] == transaction


def _free_port(host: str) -> int:
    """A port free for both UDP and TCP, as coturn listens on both: a free UDP port may be
    the local end of someone's TCP connection (both come from the ephemeral range)."""
    while True:
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
            socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp,
        ):
            udp.bind((host, 0))
            port = int(udp.getsockname()[1])
            try:
                tcp.bind((host, port))
            except OSError:
                continue
            return port


def _is_loopback(host: str) -> bool:
    return host.startswith("127.") or host == "::1"

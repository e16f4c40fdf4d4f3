"""The simulator's IoT Core: mosquitto with mutual TLS, the certificate's CN as the client's
identity, and the robot's IoT policy as its ACL."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

from robot.posix.processes import stop_child
from sim.aws.certs import PUBLISHER, SimCerts
from sim.processes import ChildService, spawn_child

HOST = "127.0.0.1"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
# Debian (and Homebrew) install the broker in an sbin, often not on a normal user's PATH.
_SEARCH_PATH = os.pathsep.join(
    [os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/opt/homebrew/sbin"]
)
_LOG_TAIL_LINES = 20


class BrokerError(RuntimeError):
    """mosquitto is missing, or did not start; the message says why and what to do."""


def acl(*thing_names: str) -> str:
    """The robots' IoT policy as a mosquitto ACL (usernames are certificate CNs): each robot
    reads its own commands and writes its own telemetry, the publisher the reverse, nothing
    else.

    The AWS sample's policy also grants the robot iot:Publish on its action topic; a robot
    never needs that, so it is left out here."""
    robots = "".join(
        f"user {name}\ntopic read {name}/action\ntopic write {name}/telemetry\n\n"
        for name in thing_names
    )
    publisher = "".join(
        f"topic write {name}/action\ntopic read {name}/telemetry\n" for name in thing_names
    )
    return f"{robots}user {PUBLISHER}\n{publisher}"


def find_mosquitto() -> str:
    """The mosquitto binary's path, or a BrokerError saying how to install it."""
    path = shutil.which("mosquitto", path=_SEARCH_PATH)
    if path is None:
        raise BrokerError(
            "mosquitto is not installed: run `sudo apt install mosquitto` "
            "(or `brew install mosquitto` on macOS)"
        )
    return path


class Broker(ChildService):
    """A mosquitto child process listening with mutual TLS on ``host``:``port``, for the
    robots named ``thing_names``.

    ``port=0`` picks a free port. Use as a context manager, or call start() and stop().
    """

    def __init__(self, state_dir: Path, certs: SimCerts, *thing_names: str, port: int = 0) -> None:
        self.state_dir = Path(state_dir)
        self.certs = certs
        self.thing_names = thing_names
        self.host = HOST
        self.port = port
        self._requested_port = port
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def conf_path(self) -> Path:
        return self.state_dir / "mosquitto.conf"

    @property
    def acl_path(self) -> Path:
        return self.state_dir / "mosquitto.acl"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "mosquitto.log"

    def start(self) -> None:
        """Start mosquitto and return once it accepts connections; raise BrokerError if not."""
        if self._process is not None:
            raise BrokerError("broker already started")
        binary = find_mosquitto()
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.acl_path.write_text(acl(*self.thing_names))
        # A free port found by binding port 0 can be taken before mosquitto binds it: retry once.
        attempts = 2 if self._requested_port == 0 else 1
        for attempt in range(attempts):
            self.port = self._requested_port or _free_port()
            try:
                self._launch(binary)
                return
            except BaseException as exc:
                self.stop()  # whatever went wrong, no process is left behind
                lost_race = isinstance(exc, BrokerError) and "Address already in use" in str(exc)
                if not lost_race or attempt == attempts - 1:
                    raise

    def restart(self, downtime_s: float = 0.0) -> None:
        """Stop and start again on the same port after ``downtime_s``: an outage, as the
        clients see it."""
        self.stop()
        time.sleep(downtime_s)
        self._requested_port = self.port
        self.start()

    def stop(self) -> None:
        """Stop mosquitto: terminate, wait, kill if it lingers. Safe to call more than once."""
        process, self._process = self._process, None
        if process is not None:
            stop_child(process, STOP_TIMEOUT_S)

    def _launch(self, binary: str) -> None:
        self.conf_path.write_text(self._config())
        # Truncated per start, so its tail in an error message is about this start. Its output
        # goes there too: errors found before mosquitto opens its log go to stderr.
        self.log_path.write_text("")
        try:
            with self.log_path.open("ab") as log:
                self._process = spawn_child([binary, "-c", str(self.conf_path)], log)
        except OSError as exc:
            raise BrokerError(f"cannot run {binary}: {exc}") from exc
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise BrokerError(
                    f"mosquitto exited with code {self._process.returncode} "
                    f"on port {self.port}{self._log_tail()}"
                )
            if self._answers_as_broker():
                return
            time.sleep(0.02)
        raise BrokerError(
            f"mosquitto did not listen on {self.host}:{self.port} within "
            f"{START_TIMEOUT_S:g} s{self._log_tail()}"
        )

    def _answers_as_broker(self) -> bool:
        """Whether a full mutual-TLS handshake succeeds: a bare TCP connect could reach some
        other program that holds the port while mosquitto fails to bind it."""
        context = ssl.create_default_context(cafile=str(self.certs.ca))
        context.load_cert_chain(self.certs.publisher.cert, self.certs.publisher.key)
        try:
            with (
                socket.create_connection((self.host, self.port), timeout=0.5) as raw,
                context.wrap_socket(raw, server_hostname=self.host),
            ):
                return True
        except OSError:  # includes ssl.SSLError and timeouts
            return False

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()[-_LOG_TAIL_LINES:]
        except OSError:
            return ""
        return "; its log " + str(self.log_path) + " ends with:\n" + "\n".join(lines)

    def _config(self) -> str:
        return "\n".join(
            [
                # Without `user`, mosquitto started as root switches to the `mosquitto` user before
                # reading the certificates, which then sit unreadable in a 0700 directory.
                f"user {pwd.getpwuid(os.geteuid()).pw_name}",
                "allow_anonymous false",
                "persistence false",
                f"log_dest file {self.log_path.resolve()}",
                "log_type error",
                "log_type warning",
                "log_type notice",
                "log_type information",
                "log_type subscribe",
                "connection_messages true",
                f"acl_file {self.acl_path.resolve()}",
                # Small packets (commands, telemetry) leave at once, not after a delayed ACK.
                "set_tcp_nodelay true",
                f"listener {self.port} {self.host}",
                f"cafile {self.certs.ca.resolve()}",
                f"certfile {self.certs.server.cert.resolve()}",
                f"keyfile {self.certs.server.key.resolve()}",
                "tls_version tlsv1.2",  # the minimum: 1.2 and 1.3 are accepted, like IoT Core
                "require_certificate true",
                # As in IoT Core, the certificate is the identity: its CN is the ACL's username.
                "use_identity_as_username true",
                "",
            ]
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])

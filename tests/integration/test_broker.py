"""The simulator's broker against the real mosquitto and the robot's own MQTT client: mutual
TLS keeps strangers out, and the ACL is the IoT policy the AWS sample deploys."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from AWSIoTPythonSDK.exception.AWSIoTExceptions import connectError, connectTimeoutException
from AWSIoTPythonSDK.MQTTLib import AWSIoTMQTTClient

import sim.aws.iot_core
from sim.aws.certs import Identity, SimCerts, make_untrusted_identity
from sim.aws.iot_core import Broker, BrokerError
from tests.support.mqtt import WAIT_S, Message, collect, connected, next_message

# MQTT 3.1.1 CONNECT: clean session, keepalive 10 s, client id "raw".
_CONNECT = bytes([0x10, 15, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 10, 0, 3]) + b"raw"
_CONNACK_ACCEPTED = bytes([0x20, 2, 0, 0])


@pytest.fixture
def robot(broker: Broker, sim_certs: SimCerts) -> Iterator[AWSIoTMQTTClient]:
    with connected(broker, sim_certs.robot) as client:
        yield client


@pytest.fixture
def watcher(broker: Broker, sim_certs: SimCerts) -> Iterator[AWSIoTMQTTClient]:
    """A second connection with the robot's certificate: what the robot is allowed to see."""
    with connected(broker, sim_certs.robot) as client:
        yield client


@pytest.fixture
def publisher(broker: Broker, sim_certs: SimCerts) -> Iterator[AWSIoTMQTTClient]:
    with connected(broker, sim_certs.publisher) as client:
        yield client


def test_robot_receives_commands_from_the_publisher(robot, publisher, thing_name):
    commands = collect(robot, f"{thing_name}/action")
    assert publisher.publish(f"{thing_name}/action", b'{"action": "forward"}', 1)
    assert next_message(commands) == Message(f"{thing_name}/action", b'{"action": "forward"}')


def test_publisher_receives_the_robots_telemetry(robot, publisher, thing_name):
    telemetry = collect(publisher, f"{thing_name}/telemetry")
    assert robot.publish(f"{thing_name}/telemetry", b'{"state": "idle"}', 1)
    assert next_message(telemetry) == Message(f"{thing_name}/telemetry", b'{"state": "idle"}')


def _first_reply(broker: Broker, identity: Identity | None) -> bytes:
    """Send a bare MQTT CONNECT over TLS, with or without a client certificate; return the
    broker's first four bytes."""
    context = ssl.create_default_context(cafile=str(broker.certs.ca))
    if identity is not None:
        context.load_cert_chain(identity.cert, identity.key)
    with (
        socket.create_connection((broker.host, broker.port), timeout=WAIT_S) as raw,
        context.wrap_socket(raw, server_hostname=broker.host) as tls,
    ):
        tls.sendall(_CONNECT)
        return tls.recv(4)


def test_client_without_certificate_is_refused(broker, sim_certs):
    # The same client with a certificate is let in, so the refusal is about the certificate.
    assert _first_reply(broker, sim_certs.robot) == _CONNACK_ACCEPTED
    # Under TLS 1.3 the refusal comes as an alert (or a hang-up) after the client's handshake.
    with pytest.raises((ssl.SSLError, ConnectionError)):
        _first_reply(broker, None)


def test_certificate_from_another_ca_is_refused(broker, tmp_path, thing_name):
    impostor = make_untrusted_identity(tmp_path, thing_name)
    with pytest.raises((connectError, connectTimeoutException)), connected(broker, impostor):
        pass


def test_robot_cannot_publish_commands(robot, watcher, publisher, thing_name):
    commands = collect(watcher, f"{thing_name}/action")
    telemetry = collect(publisher, f"{thing_name}/telemetry")
    # mosquitto acknowledges a denied publish and drops it: absence is the only sign.
    assert robot.publish(f"{thing_name}/action", b"forged", 1)
    # The robot's next message has been routed once it arrives, so the forged one was too...
    assert robot.publish(f"{thing_name}/telemetry", b"after forged", 1)
    assert next_message(telemetry).payload == b"after forged"
    # ...and a command sent now arrives first only if the forged one was dropped.
    assert publisher.publish(f"{thing_name}/action", b"genuine", 1)
    assert next_message(commands).payload == b"genuine"
    assert commands.empty()


def test_wildcards_reach_only_what_each_identity_may_read(robot, watcher, publisher, thing_name):
    # mosquitto grants any subscription and filters each message against the reader's ACL.
    robot_sees = collect(watcher, "#")
    publisher_sees = collect(publisher, "#")
    for topic in ("otherbot/action", "otherbot/telemetry", f"{thing_name}/status"):
        assert robot.publish(topic, b"elsewhere", 1)
    assert robot.publish(f"{thing_name}/telemetry", b"telemetry 1", 1)
    # Nothing published to other topics reached the publisher before the telemetry did.
    assert next_message(publisher_sees) == Message(f"{thing_name}/telemetry", b"telemetry 1")
    assert publisher.publish(f"{thing_name}/action", b"command", 1)
    # The robot sees the command first: not its own telemetry, not the other topics.
    assert next_message(robot_sees) == Message(f"{thing_name}/action", b"command")
    assert robot.publish(f"{thing_name}/telemetry", b"telemetry 2", 1)
    # The publisher sees the next telemetry, not the command it sent (it may not read it).
    assert next_message(publisher_sees).payload == b"telemetry 2"
    assert robot_sees.empty()
    assert publisher_sees.empty()


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie awaiting a reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _brokers_of(conf: Path) -> list[int]:
    """The live processes started with ``conf`` as their config."""
    pids = [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    found = []
    for pid in pids:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if str(conf).encode() in argv and _running(pid):
            found.append(pid)
    return found


def _wait_until_gone(pid: int) -> bool:
    deadline = time.monotonic() + WAIT_S
    while _running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@linux_only
def test_stop_leaves_no_process(tmp_path, sim_certs, thing_name):
    broker = Broker(tmp_path, sim_certs, thing_name)
    broker.start()
    pid = broker.pid
    assert pid is not None and _running(pid)
    broker.stop()
    assert not _running(pid)
    assert _brokers_of(broker.conf_path) == []
    broker.stop()  # a second stop is harmless


@linux_only
def test_broker_dies_with_a_killed_parent(tmp_path, sim_certs, thing_name):
    # A stand-in for `robot sim`: starts a broker (reusing the session's certificates), waits.
    script = (
        "import sys, time; from pathlib import Path; from sim.aws.iot_core import Broker; "
        "from sim.aws.certs import make_certs; "
        "state, certs, thing = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]; "
        "broker = Broker(state, make_certs(certs, thing), thing); broker.start(); "
        "print(broker.pid, flush=True); time.sleep(60)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(sim.aws.iot_core.__file__).parents[1])}
    args = [str(tmp_path), str(sim_certs.ca.parent), thing_name]
    parent = subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        assert _running(pid)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    assert _wait_until_gone(pid), "mosquitto outlived its SIGKILLed parent"


@linux_only
def test_port_in_use_is_a_clear_error_and_leaves_no_process(tmp_path, sim_certs, thing_name):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        broker = Broker(tmp_path, sim_certs, thing_name, port=taken.getsockname()[1])
        with pytest.raises(BrokerError, match="exited with code") as error:
            broker.start()
    assert "Address already in use" in str(error.value)  # the log's tail says why
    assert _brokers_of(broker.conf_path) == []


def test_missing_mosquitto_says_how_to_install_it(tmp_path, sim_certs, thing_name, monkeypatch):
    monkeypatch.setattr(sim.aws.iot_core, "_SEARCH_PATH", str(tmp_path))
    with pytest.raises(BrokerError, match="apt install mosquitto"):
        Broker(tmp_path, sim_certs, thing_name).start()

"""The MQTT link's tuning, on the real SDK against the real broker: no Nagle delay on either
end of the socket, and a bounded reconnect backoff drawn per client."""

from __future__ import annotations

import socket
import threading

from robot.daemon import mqtt_link as link
from sim.aws.certs import SimCerts
from sim.aws.iot_core import Broker


def test_the_sdk_socket_has_tcp_nodelay_once_online(broker: Broker, sim_certs: SimCerts):
    online = threading.Event()
    client = link.sdk_client(
        "nodelay-test",
        broker.host,
        broker.port,
        sim_certs.ca,
        sim_certs.publisher.key,
        sim_certs.publisher.cert,
        on_online=online.set,
    )
    client.connect(10)
    try:
        assert online.wait(5)
        paho = client._mqtt_core._internal_async_client._paho_client
        sock = paho._ssl or paho._sock
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        client.disconnect()


def test_the_broker_is_told_not_to_delay_small_packets(broker: Broker):
    assert "set_tcp_nodelay true" in broker.conf_path.read_text().splitlines()


def test_the_reconnect_backoff_is_bounded_and_differs_per_client(sim_certs: SimCerts):
    timings = set()
    for n in range(5):
        client = link.sdk_client(
            f"backoff-{n}", "localhost", 1, sim_certs.ca, sim_certs.robot.key, sim_certs.robot.cert
        )
        paho = client._mqtt_core._internal_async_client._paho_client
        core = paho._backoffCore
        base, longest = core._baseReconnectTimeSecond, core._maximumReconnectTimeSecond
        assert link.RECONNECT_BASE_S[0] <= base <= link.RECONNECT_BASE_S[1]
        assert longest <= link.RECONNECT_MAX_S[1] < 5  # back within 5 s of the broker's return
        timings.add((base, longest))
    assert len(timings) == 5  # jitter: no two clients retry in step

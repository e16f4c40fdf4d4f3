"""The simulator's HTTP front as an HTTP server: nothing reaches the data plane unsigned,
Host and Origin name the front, and limits on size, time, methods and concurrency."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
import time
import urllib.request

import botocore.exceptions
import pytest

from sim.aws import iot_data, sigv4
from sim.aws.api_gateway import MAX_BODY_BYTES, Front
from sim.aws.iot_data import IotDataPlane
from tests.support.http import request

REGION = "eu-west-1"
TOPIC_URL = "/topics/sim-robot%2Faction?qos=1"


class Harness:
    def __init__(self, **options) -> None:
        self.sent: list[tuple[str, bytes]] = []
        store = sigv4.CredentialStore()
        self.credentials = iot_data.issue_credentials(store)
        plane = IotDataPlane(
            lambda topic, payload, qos: self.sent.append((topic, payload)), store, REGION
        )
        self.front = Front(0, plane, **options)

    def client(self, credentials: sigv4.IssuedCredentials | None = None, url: str | None = None):
        return iot_data.boto3_client(url or self.front.url, credentials or self.credentials, REGION)


@pytest.fixture
def harness():
    made: list[Harness] = []

    def make(**options) -> Harness:
        made.append(Harness(**options))
        made[-1].front.start()
        return made[-1]

    yield make
    for each in made:
        each.front.stop()


def raw_exchange(front: Front, data: bytes, wait_s: float = 5.0) -> bytes:
    """Send raw bytes, return everything the server answers until it closes or goes quiet."""
    with socket.create_connection((front.host, front.port), timeout=wait_s) as sock:
        sock.sendall(data)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
                if b"\r\n\r\n" in answer and answer.endswith(b"}"):
                    break
        except TimeoutError:
            pass
    return answer


def test_an_unauthenticated_publish_to_the_data_plane_is_403(harness):
    # What any web page could send: a text/plain POST needs no CORS preflight.
    front = harness().front
    status, _, body = request(
        "POST", front.url + TOPIC_URL, b'{"action":"forward"}', {"Content-Type": "text/plain"}
    )
    assert status == 403 and "Missing or malformed Authentication Token" in body["message"]


def test_only_the_issued_credentials_publish(harness):
    made = harness()
    made.client().publish(topic="sim-robot/action", qos=1, payload=b'{"action":"stop"}')
    assert made.sent == [("sim-robot/action", b'{"action":"stop"}')]
    with pytest.raises(botocore.exceptions.ClientError, match="Forbidden"):
        stranger = iot_data.issue_credentials(sigv4.CredentialStore())
        made.client(stranger).publish(topic="sim-robot/action", qos=1, payload=b"{}")
    forged = dataclasses.replace(made.credentials, secret_access_key="not-the-secret")
    with pytest.raises(botocore.exceptions.ClientError, match="does not match"):
        made.client(forged).publish(topic="sim-robot/action", qos=1, payload=b"{}")
    assert len(made.sent) == 1


def test_a_signed_request_replayed_with_another_body_or_host_is_403(harness):
    made = harness()
    captured: list[dict] = []
    client = made.client()
    client.meta.events.register(
        "before-send.iot-data.Publish",
        lambda request, **_: captured.append(
            {"url": request.url, "headers": dict(request.headers), "body": request.body}
        ),
    )
    client.publish(topic="sim-robot/action", qos=1, payload=b'{"action":"stop"}')
    (sent,) = captured
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in sent["headers"].items()}
    replayed = request("POST", sent["url"], b'{"action":"left"}', headers)  # same length
    assert replayed[0] == 403
    other_host = {**headers, "Host": f"localhost:{made.front.port}"}
    assert request("POST", sent["url"], sent["body"], other_host)[0] == 403
    assert made.sent == [("sim-robot/action", b'{"action":"stop"}')]


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "attacker.example"},
        {"Host": "attacker.example:{port}"},
        {"Origin": "http://attacker.example"},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1:1"},
    ],
)
def test_host_and_origin_must_name_the_front(harness, headers):
    front = harness().front
    headers = {k: v.format(port=front.port) for k, v in headers.items()}
    for method, path in (("GET", "/telemetry"), ("POST", "/publish"), ("OPTIONS", "/publish")):
        status, _, body = request(method, front.url + path, b"{}", headers)
        assert status == 403, (method, path)
        assert body["message"].startswith("Forbidden")


def test_pages_of_its_own_origin_are_served(harness):
    front = harness().front
    for origin in (f"http://127.0.0.1:{front.port}", f"http://localhost:{front.port}"):
        assert request("GET", front.url + "/telemetry", None, {"Origin": origin})[0] == 200
    via_name = f"http://localhost:{front.port}/telemetry"
    with urllib.request.urlopen(via_name, timeout=5) as answer:
        assert answer.status == 200


@pytest.mark.parametrize("length", [b"abc", b"-1", b"1e3", b"99999999999999999999999"])
def test_a_malformed_content_length_is_400_with_a_status_line(harness, length):
    front = harness().front
    answer = raw_exchange(
        front,
        b"POST /publish HTTP/1.1\r\nHost: %s\r\nContent-Length: %s\r\n\r\n{}"
        % (f"127.0.0.1:{front.port}".encode(), length),
    )
    assert answer.split(b" ", 2)[:2] in ([b"HTTP/1.1", b"400"], [b"HTTP/1.0", b"400"]), answer[:80]


def test_a_body_over_the_limit_is_413_and_not_read_to_its_end(harness):
    made = harness()
    big = b"x" * (5 * 1024 * 1024)
    credentials = made.credentials
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        made.client(credentials).publish(topic="sim-robot/action", qos=1, payload=big)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    made.front.lambda_routes["POST /publish"] = lambda event, context: {"statusCode": 200}
    status, _, body = request("POST", made.front.url + "/publish", b"x" * (MAX_BODY_BYTES + 1))
    assert (status, body) == (413, {"message": "Request Entity Too Large"})
    assert made.sent == []


def test_a_half_sent_request_is_dropped_after_the_read_timeout(harness):
    front = harness(read_timeout_s=0.5).front
    front.lambda_routes["POST /publish"] = lambda event, context: {"statusCode": 200}
    with socket.create_connection((front.host, front.port), timeout=10) as sock:
        sock.sendall(b"POST /publish HTTP/1.1\r\nHost: x\r\n")  # headers never end
        started = time.monotonic()
        assert sock.recv(1024) == b""  # closed by the server
        assert time.monotonic() - started < 5
    with socket.create_connection((front.host, front.port), timeout=10) as sock:
        sock.sendall(
            b"POST /publish HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: 10\r\n\r\n{"
            % front.port
        )
        answer = sock.recv(1024)  # the body never ends
        assert answer.startswith(b"HTTP/1.1 408") or answer == b""


def test_other_methods_are_405_and_unknown_paths_404_with_json(harness):
    front = harness().front
    front.lambda_routes["POST /publish"] = lambda event, context: {"statusCode": 200}
    status, headers, body = request("PUT", front.url + "/publish", b"{}")
    assert (
        status == 405 and "POST" in headers["Allow"] and body == {"message": "Method Not Allowed"}
    )
    assert request("DELETE", front.url + "/telemetry")[0] == 405
    assert request("PATCH", front.url + "/publish")[0] == 405
    status, headers, body = request("POST", front.url + "/nowhere", b"{}")
    assert status == 404 and body == {"message": "Missing Authentication Token"}
    assert "Access-Control-Allow-Origin" not in headers  # as the template's default


def test_a_route_is_one_line_and_gets_the_path_parameters(harness):
    made = Harness()
    events = []
    made.front.lambda_routes["POST /robots/{name}/viewer"] = lambda event, context: (
        events.append(event) or {"statusCode": 201, "body": json.dumps({"ok": True})}
    )
    made.front.start()
    try:
        status, _, body = request("POST", made.front.url + "/robots/r7/viewer", b"{}")
    finally:
        made.front.stop()
    assert (status, body) == (201, {"ok": True})
    assert events[0]["pathParameters"] == {"name": "r7"}
    assert events[0]["resource"] == "/robots/{name}/viewer"


def test_requests_beyond_the_concurrency_bound_are_429(harness):
    made = Harness(max_in_flight=2)
    release = threading.Event()
    made.front.lambda_routes["POST /slow"] = lambda event, context: (
        release.wait(10) and {"statusCode": 200, "body": "{}"}
    )
    made.front.start()
    answers: list[int] = []
    slow = [
        threading.Thread(
            target=lambda: answers.append(request("POST", made.front.url + "/slow", b"{}")[0])
        )
        for _ in range(2)
    ]
    try:
        for thread in slow:
            thread.start()
        deadline = time.monotonic() + 5
        while made.front._in_flight < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert request("GET", made.front.url + "/telemetry")[0] == 429
        release.set()
        for thread in slow:
            thread.join(10)
        assert answers == [200, 200]
        assert request("GET", made.front.url + "/telemetry")[0] == 200
    finally:
        release.set()
        made.front.stop()

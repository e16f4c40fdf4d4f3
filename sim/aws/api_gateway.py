"""The simulator's HTTP front: API Gateway's routes, and the other local endpoints, on one port.

- ``POST /publish`` and ``POST /robots/{name}/publish``: as API Gateway does, turn the
  request into a proxy event and hand it to the real publish Lambda handler;
  ``POST /viewer`` and ``POST /robots/{name}/viewer`` likewise to the real viewer Lambda.
- ``POST /topics/{topic}?qos=N``: the IoT data plane (``sim/aws/iot_data.py``).
- ``GET /robots``: the fleet, from the real fleet Lambda, after the real authorizer.
- ``GET /telemetry``: the robot's latest telemetry (``sim/robot/telemetry_view.py``).
- ``GET /``, its scripts and ``/console/config.json``: the operator console
  (``sim/aws/console_site.py``).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from sim.aws import console_site
from sim.aws.authorization import CORS_HEADERS
from sim.aws.iot_data import IotDataPlane
from sim.robot.telemetry_view import LatestTelemetry

log = logging.getLogger(__name__)

# path pattern -> (API resource, the Front attribute holding its Lambda handler)
ROUTES = {
    re.compile(r"^/publish$"): ("/publish", "publish_handler"),
    re.compile(r"^/robots/(?P<name>[^/]+)/publish$"): ("/robots/{name}/publish", "publish_handler"),
    re.compile(r"^/viewer$"): ("/viewer", "viewer_handler"),
    re.compile(r"^/robots/(?P<name>[^/]+)/viewer$"): ("/robots/{name}/viewer", "viewer_handler"),
}
MAX_BODY_BYTES = 64 * 1024

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]
# (headers, method ARN) -> (status, body) to refuse, or (None, authorizer context)
Authorizer = Callable[[dict[str, str], str], tuple[int | None, dict[str, Any]]]


class Front(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        port: int,
        data_plane: IotDataPlane,
        publish_handler: LambdaHandler | None = None,
        authorize: Authorizer | None = None,
        host: str = "127.0.0.1",
        viewer_handler: LambdaHandler | None = None,
    ) -> None:
        super().__init__((host, port), _Handler)
        self.publish_handler = publish_handler
        self.viewer_handler = viewer_handler
        self.fleet_handler: LambdaHandler | None = None
        self.data_plane = data_plane
        self.authorize = authorize
        self.telemetry = LatestTelemetry()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="sim-front", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: Front
    protocol_version = "HTTP/1.1"  # keep-alive, as boto3 and browsers expect
    # Headers and body leave in one segment: written apart, Nagle's algorithm and the
    # client's delayed ACK hold the body back for 40 ms.
    wbufsize = -1
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/telemetry":
            self._send(HTTPStatus.OK, self.server.telemetry.snapshot())
        elif path == "/robots":
            self._invoke_lambda(self.server.fleet_handler, "/robots", path, None, b"", "GET")
        elif (found := console_site.page(path, self.server.url)) is not None:
            self._send(
                HTTPStatus.OK,
                found.body,
                {"Content-Type": found.content_type, "Cache-Control": "no-cache"},
            )
        else:
            self._send(HTTPStatus.NOT_FOUND, {"message": "Not Found"})

    def do_OPTIONS(self) -> None:
        # CORS preflight, as API Gateway's mock integration answers it.
        self._send(HTTPStatus.NO_CONTENT, None, CORS_HEADERS)

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        body = self._read_body()
        if body is None:
            return
        if url.path.startswith("/topics/"):
            topic = unquote(url.path[len("/topics/") :])
            self._send(*self.server.data_plane.publish(topic, url.query, body))
            return
        for pattern, (resource, handler) in ROUTES.items():
            match = pattern.match(url.path)
            if match:
                lambda_handler = getattr(self.server, handler)
                self._invoke_lambda(
                    lambda_handler, resource, url.path, match.groupdict() or None, body
                )
                return
        self._send(HTTPStatus.NOT_FOUND, {"message": "Missing Authentication Token"}, CORS_HEADERS)

    def _invoke_lambda(
        self,
        handler: LambdaHandler | None,
        resource: str,
        path: str,
        path_parameters: dict[str, str] | None,
        body: bytes,
        method: str = "POST",
    ) -> None:
        headers = dict(self.headers.items())
        authorizer_context: dict[str, Any] = {}
        if self.server.authorize is not None:
            method_arn = f"arn:aws:execute-api:local:000000000000:sim/sim/{method}{path}"
            refusal, authorizer_context = self.server.authorize(headers, method_arn)
            if refusal is not None:
                self._send(refusal, authorizer_context, CORS_HEADERS)
                return
        event = proxy_event(
            resource, path, path_parameters, headers, body, authorizer_context, method
        )
        try:
            assert handler is not None, f"no Lambda handler for {resource}"
            result = handler(event, None)
        except Exception:
            log.exception("the handler of %s raised", resource)
            self._send(HTTPStatus.BAD_GATEWAY, {"message": "Internal server error"}, CORS_HEADERS)
            return
        self._send(
            result.get("statusCode", 200), result.get("body", ""), result.get("headers") or {}
        )

    def _read_body(self) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"message": "Request too large"})
            self.close_connection = True
            return None
        return self.rfile.read(length)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = (
            b"" if body is None else (body if isinstance(body, str | bytes) else json.dumps(body))
        )
        payload = data.encode() if isinstance(data, str) else data
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


def proxy_event(
    resource: str,
    path: str,
    path_parameters: dict[str, str] | None,
    headers: dict[str, str],
    body: bytes,
    authorizer_context: dict[str, Any],
    method: str = "POST",
) -> dict[str, Any]:
    """An API Gateway REST proxy-integration event, as the Lambdas receive it."""
    try:
        text, is_base64 = body.decode(), False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(body).decode(), True
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "queryStringParameters": None,
        "pathParameters": path_parameters,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "stage": "sim",
            "requestId": str(uuid.uuid4()),
            "authorizer": authorizer_context,
        },
        "body": text,
        "isBase64Encoded": is_base64,
    }

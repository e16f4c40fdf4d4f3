"""The simulator's HTTP front: API Gateway's routes, and the other local endpoints, on one port.

Two route tables, filled before ``start()``; adding a route is one line:

- ``lambda_routes``: ``"METHOD /resource/{param}"`` -> a Lambda handler. As API Gateway does,
  the front runs the authorizer, turns the request into a proxy event and hands it to the
  handler (the stack maps ``POST /publish`` and ``POST /robots/{name}/publish`` to the real
  publish Lambda, ``POST /viewer`` and ``POST /robots/{name}/viewer`` to the viewer Lambda,
  ``GET /robots`` to the fleet Lambda, ``POST /robots/{name}/guests`` to the guest-link
  Lambda, and ``GET /`` and ``GET /{file+}`` to the console
  Lambda, ``sim/aws/console_site.py``). Routes named in ``open_routes`` skip the
  authorizer, as the console's do in the template; a resource matches before a greedy one.
- ``local_routes``: ``"METHOD /path"`` -> an aiohttp handler, for what is not API Gateway:
  ``POST /topics/{topic+}``, the IoT data plane (``sim/aws/iot_data.py``),
  ``GET /telemetry``, the robot's latest telemetry (``sim/robot/telemetry_view.py``), for a
  token that may watch the robot (the authorizer's answer for ``POST /viewer``), and, once
  ``serve_secrets`` is called, ``POST /``, Secrets Manager (``sim/aws/secrets_manager.py``).

It is an aiohttp server on its own event loop thread: bodies up to MAX_BODY_BYTES (413
beyond), a request whose headers or body do not arrive within ``read_timeout_s`` is dropped,
at most ``max_in_flight`` requests at once (429 beyond, as API Gateway throttles), 405 for a
method a path does not have, and a JSON ``{"message": ...}`` body on every error. Every
request must name this front in ``Host``, and a browser's ``Origin``, when sent, must be the
front's own: a web page elsewhere cannot reach it through DNS rebinding.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import logging
import re
import socket
import threading
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from typing import Any

from aiohttp import web

from sim.aws import authorization, sigv4
from sim.aws.authorization import CORS_HEADERS
from sim.aws.iot_data import IotDataPlane
from sim.aws.secrets_manager import SecretsManager
from sim.robot.telemetry_view import LatestTelemetry

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
READ_TIMEOUT_S = 10.0
MAX_IN_FLIGHT = 20  # one laptop's share of the template's StageBurstLimit
LAMBDA_CONCURRENCY = 4
SHUTDOWN_TIMEOUT_S = 1.0

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]
# (request, path parameters) -> response
LocalHandler = Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]
NextHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# (headers, method ARN) -> (status, body) to refuse, or (None, authorizer context)
Authorizer = Callable[[dict[str, str], str], tuple[int | None, dict[str, Any]]]


class Front:
    def __init__(
        self,
        port: int,
        data_plane: IotDataPlane,
        authorize: Authorizer | None = None,
        host: str = "127.0.0.1",
        read_timeout_s: float = READ_TIMEOUT_S,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self.data_plane = data_plane
        self.authorize = authorize
        self.telemetry = LatestTelemetry()
        self.read_timeout_s = read_timeout_s
        self.lambda_routes: dict[str, LambdaHandler] = {}
        self.local_routes: dict[str, LocalHandler] = {
            "POST /topics/{topic+}": self._publish_to_topic,
            "GET /telemetry": self._telemetry,
        }
        # Lambda routes that API Gateway opens without the authorizer (``Authorizer: NONE``).
        self.open_routes: set[str] = set()
        # Bound now, so the URL is known before the routes are filled (the Lambda's boto3
        # client needs it) and a busy port fails here.
        self._socket = socket.create_server((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        self._max_in_flight = max_in_flight
        self._in_flight = 0
        self._lambdas = ThreadPoolExecutor(LAMBDA_CONCURRENCY, thread_name_prefix="sim-lambda")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def origins(self) -> frozenset[str]:
        """The origins a page served by this front has (the names of its address)."""
        names = {self.host, "localhost"} if self.host in ("127.0.0.1", "::1") else {self.host}
        return frozenset(f"http://{name}:{self.port}" for name in names)

    def start(self) -> None:
        """Serve in a thread of its own; return once the server accepts requests."""
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name="sim-front")
        self._thread.daemon = True
        self._thread.start()
        ready.wait()

    def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is not None and self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(
                SHUTDOWN_TIMEOUT_S + 5
            )
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._lambdas.shutdown(wait=False, cancel_futures=True)
        self._socket.close()

    # --- the server ----------------------------------------------------------------------

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        app = web.Application(
            client_max_size=MAX_BODY_BYTES,
            middlewares=[self._guard, self._throttle, _json_errors],
        )
        app.router.add_route("*", "/{path:.*}", self._dispatch)
        # keepalive_timeout also closes a connection whose first request never completes.
        self._runner = web.AppRunner(
            app,
            access_log=None,
            keepalive_timeout=self.read_timeout_s,
            handle_signals=False,
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,  # requests still running get this long
        )
        loop.run_until_complete(self._runner.setup())
        loop.run_until_complete(web.SockSite(self._runner, self._socket).start())
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    @web.middleware
    async def _guard(self, request: web.Request, handler: NextHandler) -> web.StreamResponse:
        """Host must name this front; Origin, when sent, must be its own (DNS rebinding)."""
        hosts = {origin.removeprefix("http://") for origin in self.origins}
        if request.headers.get("Host") not in hosts:
            return _error(HTTPStatus.FORBIDDEN, "Forbidden: Host is not this endpoint")
        origin = request.headers.get("Origin")
        if origin is not None and origin not in self.origins:
            return _error(HTTPStatus.FORBIDDEN, "Forbidden: pages from other origins")
        return await handler(request)

    @web.middleware
    async def _throttle(self, request: web.Request, handler: NextHandler) -> web.StreamResponse:
        # Only the front's loop thread touches the count.
        if self._in_flight >= self._max_in_flight:
            return _error(HTTPStatus.TOO_MANY_REQUESTS, "Too Many Requests")
        self._in_flight += 1
        try:
            return await handler(request)
        finally:
            self._in_flight -= 1

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.method == "OPTIONS":
            # CORS preflight, as API Gateway's mock integration answers it.
            return web.Response(status=HTTPStatus.NO_CONTENT, headers=CORS_HEADERS)
        allowed = []
        routes = [(key, False) for key in self.lambda_routes]
        routes += [(key, True) for key in self.local_routes]
        # As API Gateway does, a resource matches before a greedy one ({name+}) that also would.
        for key, local in sorted(routes, key=lambda route: _is_greedy(route[0])):
            method, resource = key.split(" ", 1)
            parameters = _match(resource, request.path)
            if parameters is None:
                continue
            if method != request.method:
                if not _is_greedy(key):  # a catch-all of another method says nothing
                    allowed.append(method)
                continue
            if local:
                return await self.local_routes[key](request, parameters)
            return await self._invoke_lambda(request, key, parameters, self.lambda_routes[key])
        if allowed:
            return _error(
                HTTPStatus.METHOD_NOT_ALLOWED,
                "Method Not Allowed",
                {"Allow": ", ".join(sorted({*allowed, "OPTIONS"}))},
            )
        return _error(HTTPStatus.NOT_FOUND, "Missing Authentication Token", CORS_HEADERS)

    async def _invoke_lambda(
        self,
        request: web.Request,
        key: str,
        parameters: dict[str, str],
        handler: LambdaHandler,
    ) -> web.StreamResponse:
        resource = key.split(" ", 1)[1]
        body = await self._read_body(request)
        headers = dict(request.headers.items())
        authorizer_context: dict[str, Any] = {}
        if self.authorize is not None and key not in self.open_routes:
            arn = authorization.method_arn(request.method, request.path)
            refusal, authorizer_context = self.authorize(headers, arn)
            if refusal is not None:
                return _json(refusal, authorizer_context, CORS_HEADERS)
        event = proxy_event(
            request.method,
            resource,
            request.path,
            parameters or None,
            headers,
            body,
            authorizer_context,
        )
        try:
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(self._lambdas, handler, event, None)
        except Exception:
            log.exception("the Lambda handler for %s raised", resource)
            return _error(HTTPStatus.BAD_GATEWAY, "Internal server error", CORS_HEADERS)
        return web.Response(
            status=result.get("statusCode", 200),
            body=result.get("body", "").encode(),
            headers=result.get("headers") or {},
        )

    async def _publish_to_topic(
        self, request: web.Request, parameters: dict[str, str]
    ) -> web.StreamResponse:
        wire = await self._wire(request)
        loop = asyncio.get_running_loop()
        status, answer = await loop.run_in_executor(
            None, self.data_plane.publish, parameters["topic"], wire
        )
        return _json(status, answer)

    def serve_secrets(self, manager: SecretsManager) -> None:
        """Answer Secrets Manager's calls (``POST /``, the AWS JSON protocol) from ``manager``."""

        async def call(request: web.Request, _: dict[str, str]) -> web.StreamResponse:
            wire = await self._wire(request)
            status, answer = await asyncio.get_running_loop().run_in_executor(
                None, manager.call, wire
            )
            return _json(status, answer, {"Content-Type": "application/x-amz-json-1.1"})

        self.local_routes["POST /"] = call

    async def _wire(self, request: web.Request) -> sigv4.WireRequest:
        """A signed request as it came over the wire, for a service to verify."""
        return sigv4.WireRequest(
            request.method,
            request.host,  # the guard has checked it names this front
            request.raw_path.split("?", 1)[0],
            request.rel_url.raw_query_string,
            request.headers,
            await self._read_body(request),
        )

    async def _telemetry(self, request: web.Request, _: dict[str, str]) -> web.StreamResponse:
        if self.authorize is not None:
            # What the robot reports is what watching it shows: the same token, the same rule.
            arn = authorization.method_arn("POST", "/viewer")
            refusal, body = self.authorize(dict(request.headers.items()), arn)
            if refusal is not None:
                return _json(refusal, body, CORS_HEADERS)
        return _json(HTTPStatus.OK, self.telemetry.snapshot())

    async def _read_body(self, request: web.Request) -> bytes:
        try:
            async with asyncio.timeout(self.read_timeout_s):
                return await request.read()
        except TimeoutError:
            raise web.HTTPRequestTimeout() from None


@web.middleware
async def _json_errors(request: web.Request, handler: NextHandler) -> web.StreamResponse:
    """aiohttp's own errors (413, 408, 400...) with a JSON body, as API Gateway answers."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error(exc.status, exc.reason)


def _is_greedy(key: str) -> bool:
    return "+}" in key


def _match(resource: str, path: str) -> dict[str, str] | None:
    """The path parameters if ``path`` is an instance of ``resource`` (``{name}`` one
    segment, ``{name+}`` the rest of the path, as API Gateway's greedy parameter)."""
    match = _pattern(resource).fullmatch(path)
    return None if match is None else match.groupdict()


@functools.lru_cache(maxsize=64)
def _pattern(resource: str) -> re.Pattern[str]:
    regex = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(resource))
    return re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", regex))


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return _json(status, {"message": message}, headers)


def proxy_event(
    method: str,
    resource: str,
    path: str,
    path_parameters: dict[str, str] | None,
    headers: dict[str, str],
    body: bytes,
    authorizer_context: dict[str, Any],
) -> dict[str, Any]:
    """An API Gateway REST proxy-integration event, as the Lambda receives it."""
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
            "stage": authorization.STAGE,
            "requestId": str(uuid.uuid4()),
            "authorizer": authorizer_context,
        },
        "body": text,
        "isBase64Encoded": is_base64,
    }

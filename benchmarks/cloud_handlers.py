"""Print latency figures for the cloud handlers (a script, not a test):

- authorizer, warm, keys cached: per request, for a PEM key (ES256, RS256) and a JWKS URL;
- publish handler, warm, with the IoT call replaced by a no-op (the network is excluded);
- viewer handler, warm, against the simulator's KVS signaling service on loopback (one
  signed GetIceServerConfig call and one presign per request; no target in the issue);
- cold import of each handler module in a fresh interpreter.

Targets: authorizer and publish p99 <= 2 ms; cold import <= 300 ms.

    python benchmarks/cloud_handlers.py [--requests 3000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")

import jwt  # noqa: E402

from cloud.authorizer import app as authorizer  # noqa: E402
from robot.contracts import tokens  # noqa: E402

ARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/POST/publish"


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p = statistics.quantiles(ms, n=100)
    return f"p50 {p[49]:.3f} ms  p99 {p[98]:.3f} ms  max {ms[-1]:.3f} ms  (n={len(ms)})"


def timed(call: Callable[[], object], count: int) -> list[float]:
    for _ in range(min(200, count)):  # warm up: caches, lazy imports, first key load
        call()
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def serve_jwks(document: dict) -> tuple[ThreadingHTTPServer, list[str]]:
    hits: list[str] = []
    body = json.dumps(document).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, hits


def bench_authorizer(count: int) -> None:
    env = {
        "JWT_ISSUER": tokens.DEFAULT_ISSUER,
        "JWT_AUDIENCE": tokens.DEFAULT_AUDIENCE,
        "ROBOT_NAME": "r1",
    }
    for alg in ("ES256", "RS256"):
        key = tokens.generate_private_key(alg)
        handler = authorizer.Authorizer.from_environ(
            {**env, "JWT_PUBLIC_KEY": tokens.public_pem(key)}
        )
        event = {
            "type": "TOKEN",
            "methodArn": ARN,
            "authorizationToken": "Bearer "
            + tokens.mint(key, "bench", ["robot:drive"], 3600, robots=["r1"]),
        }
        print(
            f"authorizer, PEM {alg}:      "
            + percentiles(timed(lambda e=event, h=handler: h(e, None), count))
        )

    key = tokens.generate_private_key("ES256")
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    server, hits = serve_jwks({"keys": [{**jwk, "kid": "k1", "alg": "ES256"}]})
    url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    handler = authorizer.Authorizer.from_environ({**env, "JWKS_URL": url})
    token = jwt.encode(
        {
            "sub": "bench",
            "iss": env["JWT_ISSUER"],
            "aud": env["JWT_AUDIENCE"],
            "exp": int(time.time()) + 3600,
            "scope": "robot:drive",
        },
        key,
        algorithm="ES256",
        headers={"kid": "k1"},
    )
    event = {"type": "TOKEN", "methodArn": ARN, "authorizationToken": "Bearer " + token}
    samples = timed(lambda: handler(event, None), count)
    print("authorizer, JWKS ES256:    " + percentiles(samples) + f"  [JWKS fetched {len(hits)}x]")
    server.shutdown()


def bench_publish(count: int) -> None:
    from cloud.publish import app

    class NoNetwork:
        def publish(self, **kwargs: object) -> None:
            pass

    endpoint = app.PublishEndpoint(app.Settings(robot_name="r1"), NoNetwork())
    event = {
        "body": '{"action": "drive", "linear": 0.5, "angular": -0.2, "ttl_ms": 300}',
        "pathParameters": {"name": "r1"},
        "requestContext": {"authorizer": {"sub": "b", "scopes": "robot:drive", "robots": "r1"}},
    }
    assert endpoint(event, None)["statusCode"] == 200
    print("publish handler (no I/O):  " + percentiles(timed(lambda: endpoint(event, None), count)))


def bench_viewer(count: int) -> None:
    import tempfile

    from sim.aws.certs import make_certs
    from sim.aws.video import LocalVideo

    event = {
        "pathParameters": None,
        "requestContext": {"authorizer": {"sub": "b", "scopes": "robot:view", "robots": "r1"}},
    }
    with (
        tempfile.TemporaryDirectory() as folder,
        LocalVideo("r1", make_certs(Path(folder), "r1")) as video,
    ):
        handler = video.viewer_handler()
        assert handler(event, None)["statusCode"] == 200
        print(
            "viewer handler (loopback KVS): "
            + percentiles(timed(lambda: handler(event, None), count))
        )


def bench_cold_import(runs: int) -> None:
    code = "import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    env = {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "1",
        "JWT_ISSUER": "i",
        "JWT_AUDIENCE": "a",
        "JWT_PUBLIC_KEY": "unused",
    }
    # The last line is the share of the publish handler that is boto3's own import and
    # client construction, which any Lambda using boto3 pays.
    for label, statement in (
        ("cloud.authorizer.app", "import cloud.authorizer.app"),
        ("cloud.publish.app", "import cloud.publish.app"),
        ("cloud.viewer.app", "import cloud.viewer.app"),
        ("(boto3 + iot-data client alone)", "import boto3; boto3.client('iot-data')"),
    ):
        times = []
        for _ in range(runs):
            out = subprocess.run(
                [sys.executable, "-c", code.format(statement=statement)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            times.append(float(out.stdout) * 1000)
        print(
            f"cold import {label}: median {statistics.median(times):.0f} ms, "
            f"min {min(times):.0f} ms, max {max(times):.0f} ms  (n={runs})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--imports", type=int, default=7)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, PyJWT {jwt.__version__}")
    bench_authorizer(args.requests)
    bench_publish(args.requests)
    bench_viewer(min(args.requests, 1000))
    bench_cold_import(args.imports)


if __name__ == "__main__":
    main()

"""AWS Signature Version 4, checked as an AWS service checks it: botocore's own signer
recomputes the signature from the request and the credentials the simulator issued.

    credentials = sigv4.issue()               # handed to the client that may call
    sigv4.verify(request, credentials, region="us-east-1", service="iotdata")
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotocoreCredentials

MAX_CLOCK_SKEW = datetime.timedelta(minutes=5)  # what AWS allows before RequestTimeTooSkewed
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[A-Z0-9]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/"
    r"(?P<service>[a-z0-9-]+)/aws4_request, ?SignedHeaders=(?P<headers>[a-z0-9;-]+), ?"
    r"Signature=(?P<signature>[0-9a-f]{64})"
)


class SignatureError(Exception):
    """The request is not signed, or not signed by the issued credentials; says why."""


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str = ""

    def __repr__(self) -> str:  # the secret stays out of logs and tracebacks
        return f"Credentials(access_key={self.access_key!r})"


def issue() -> Credentials:
    """Fresh random credentials, shaped like temporary AWS ones."""
    alphabet = string.ascii_uppercase + string.digits
    key = "ASIA" + "".join(secrets.choice(alphabet) for _ in range(16))
    return Credentials(key, secrets.token_urlsafe(30))


@dataclass(frozen=True)
class SignedRequest:
    """What the signature covers: the method, the path and query as sent (still
    percent-encoded), the headers and the body."""

    method: str
    raw_path: str
    headers: Mapping[str, str]
    body: bytes


def verify(
    request: SignedRequest,
    credentials: Credentials,
    region: str,
    service: str,
    now: datetime.datetime | None = None,
) -> None:
    """Raise SignatureError unless ``request`` carries a valid signature by ``credentials``
    for ``region`` and ``service``, made within MAX_CLOCK_SKEW of ``now``, that covers Host."""
    headers = {name.lower(): value for name, value in request.headers.items()}
    match = _AUTHORIZATION.fullmatch(headers.get("authorization", ""))
    if match is None:
        raise SignatureError("the request is not signed with AWS Signature Version 4")
    if not hmac.compare_digest(match["key"], credentials.access_key):
        raise SignatureError("the access key is not one this service issued")
    if (match["region"], match["service"]) != (region, service):
        raise SignatureError(f"the signature is not for {service} in {region}")
    signed = match["headers"].split(";")
    if "host" not in signed or any(name not in headers for name in signed):
        raise SignatureError("the signature must cover Host and every header it names")
    stamp = headers.get("x-amz-date", "")
    try:
        signed_at = datetime.datetime.strptime(stamp, SIGV4_TIMESTAMP).replace(tzinfo=datetime.UTC)
    except ValueError:
        raise SignatureError("X-Amz-Date is missing or malformed") from None
    if stamp[:8] != match["date"]:
        raise SignatureError("X-Amz-Date does not match the credential scope")
    if abs((now or datetime.datetime.now(datetime.UTC)) - signed_at) > MAX_CLOCK_SKEW:
        raise SignatureError("the signature is too old or from the future")

    declared = headers.get("x-amz-content-sha256")
    if declared is not None and declared != hashlib.sha256(request.body).hexdigest():
        raise SignatureError("the body is not the one that was signed")
    expected = _signature(request, headers, signed, stamp, credentials, region, service)
    if not hmac.compare_digest(expected, match["signature"]):
        raise SignatureError("the signature does not match")


def _signature(
    request: SignedRequest,
    headers: Mapping[str, str],
    signed: list[str],
    stamp: str,
    credentials: Credentials,
    region: str,
    service: str,
) -> str:
    # The request rebuilt with exactly the signed headers, at the time it was signed.
    rebuilt = AWSRequest(
        method=request.method,
        url=f"http://{headers['host']}{request.raw_path}",
        headers={name: headers[name] for name in signed},
        data=request.body,
    )
    rebuilt.context["timestamp"] = stamp
    signer = SigV4Auth(
        BotocoreCredentials(credentials.access_key, credentials.secret_key), service, region
    )
    canonical = signer.canonical_request(rebuilt)
    return signer.signature(signer.string_to_sign(rebuilt, canonical), rebuilt)

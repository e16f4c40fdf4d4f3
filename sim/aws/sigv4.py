"""Checking AWS Signature Version 4 the way an AWS service does, for the simulator's local
services: the caller's signature is recomputed with botocore's own signer from the secret
the service knows for the access key, and compared.

Two forms are checked: the ``Authorization`` header of a JSON API call, and a presigned URL
(``X-Amz-Signature`` in the query, as KVS signaling's WebSocket URLs are). A failure raises
:class:`SignatureError` carrying the error code and status AWS would answer with.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

ALGORITHM = "AWS4-HMAC-SHA256"
# AWS refuses a request whose signing time is further than this from its own clock.
MAX_CLOCK_SKEW = datetime.timedelta(minutes=5)
_AUTHORIZATION_RE = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+),\s*Signature=(?P<signature>[0-9a-f]{64})"
)


class SignatureError(Exception):
    """A request the service refuses: ``code`` and ``status`` as AWS answers them."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class IssuedCredentials:
    """Temporary credentials (or static ones, with ``session_token`` None and no expiry)
    and whom they were issued to."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None
    expiration: datetime.datetime | None
    principal: str
    grants: Any = None  # what the credentials may do; the service that checks decides


class CredentialStore:
    """The credentials a local service accepts: static ones it was configured with, and
    the temporary ones the local IoT credentials provider issues. Thread-safe: the
    provider and the services may run on different threads."""

    def __init__(self) -> None:
        self._by_key: dict[str, IssuedCredentials] = {}
        self._lock = threading.Lock()

    def add_static(
        self, access_key_id: str, secret_access_key: str, principal: str, grants: Any = None
    ) -> IssuedCredentials:
        credentials = IssuedCredentials(
            access_key_id, secret_access_key, None, None, principal, grants
        )
        with self._lock:
            self._by_key[access_key_id] = credentials
        return credentials

    def issue(
        self,
        principal: str,
        lifetime: datetime.timedelta,
        grants: Any = None,
        now: datetime.datetime | None = None,
    ) -> IssuedCredentials:
        """New temporary credentials for ``principal``, valid for ``lifetime``."""
        now = now or _utcnow()
        credentials = IssuedCredentials(
            access_key_id="ASIA" + secrets.token_hex(8).upper(),
            # Base64, as AWS's are: '+', '/' and '=' test the callers' URL encoding.
            secret_access_key=base64.b64encode(secrets.token_bytes(30)).decode(),
            session_token=base64.b64encode(secrets.token_bytes(120)).decode(),
            expiration=(now + lifetime).replace(microsecond=0),
            principal=principal,
            grants=grants,
        )
        with self._lock:
            self._prune(now)
            self._by_key[credentials.access_key_id] = credentials
        return credentials

    def lookup(
        self, access_key_id: str, session_token: str | None, now: datetime.datetime
    ) -> IssuedCredentials:
        """The credentials for ``access_key_id``, if ``session_token`` is theirs and they
        have not expired; else SignatureError with AWS's code."""
        with self._lock:
            credentials = self._by_key.get(access_key_id)
        if credentials is None or not _same(session_token, credentials.session_token):
            raise SignatureError(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        if credentials.expiration is not None and now >= credentials.expiration:
            raise SignatureError(
                "ExpiredTokenException", "The security token included in the request is expired"
            )
        return credentials

    def _prune(self, now: datetime.datetime) -> None:
        expired = [
            key
            for key, c in self._by_key.items()
            if c.expiration is not None and c.expiration <= now
        ]
        for key in expired:
            del self._by_key[key]


@dataclass(frozen=True)
class Verified:
    """Who signed a request, for which region, and the grants of their credentials."""

    principal: str
    region: str
    grants: Any = None


def verify_request(
    store: CredentialStore,
    service: str,
    method: str,
    host: str,
    path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime.datetime | None = None,
) -> Verified:
    """Check the ``Authorization`` header of a request as received (``path`` and
    ``raw_query`` exactly as they came over the wire)."""
    now = now or _utcnow()
    lower = {name.lower(): value for name, value in headers.items()}
    match = _AUTHORIZATION_RE.fullmatch(lower.get("authorization", "").strip())
    if match is None:
        raise SignatureError(
            "MissingAuthenticationTokenException", "Missing or malformed Authentication Token", 403
        )
    timestamp = lower.get("x-amz-date", "")
    access_key, region = _check_scope(match["credential"], service, timestamp, now)
    _check_skew(_parse_timestamp(timestamp), now)
    credentials = store.lookup(access_key, lower.get("x-amz-security-token"), now)
    signed_names = match["signed"].split(";")
    if "host" not in signed_names or any(
        name not in lower and name != "host" for name in signed_names
    ):
        raise _mismatch()
    signed = {name: (host if name == "host" else lower[name]) for name in signed_names}
    request = AWSRequest(method, f"http://{host}{path}", signed, body, query_pairs(raw_query))
    return _verified(
        request, credentials, service, region, timestamp, match["signed"], match["signature"]
    )


def issue_random(store: CredentialStore, principal: str) -> IssuedCredentials:
    """Fresh random static credentials for ``principal`` (a Lambda's execution role's)."""
    return store.add_static(
        "AKIA" + secrets.token_hex(8).upper(),
        base64.b64encode(secrets.token_bytes(30)).decode(),
        principal,
    )


def boto3_client(
    service: str, endpoint_url: str, credentials: IssuedCredentials, region: str
) -> Any:
    """A boto3 client of ``service`` at ``endpoint_url``, signing with ``credentials``."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=credentials.session_token,
    )


@dataclass(frozen=True)
class WireRequest:
    """A signed request as it came over the wire: the path and query still encoded."""

    method: str
    host: str
    raw_path: str
    raw_query: str
    headers: Mapping[str, str]
    body: bytes


def verify_wire(
    store: CredentialStore, service: str, region: str, request: WireRequest
) -> Verified:
    """``verify_request``, for ``region`` only, and a signed payload hash must be the body's
    (it stands for the body in the signature)."""
    verified = verify_request(
        store,
        service,
        request.method,
        request.host,
        request.raw_path,
        request.raw_query,
        request.headers,
        request.body,
    )
    if verified.region != region:
        raise SignatureError("InvalidSignatureException", f"not for {region}")
    declared = {k.lower(): v for k, v in request.headers.items()}.get("x-amz-content-sha256")
    if declared is not None and declared != hashlib.sha256(request.body).hexdigest():
        raise SignatureError("InvalidSignatureException", "the body was not signed")
    return verified


def verify_presigned(
    store: CredentialStore,
    service: str,
    method: str,
    host: str,
    path: str,
    raw_query: str,
    max_expires: int,
    now: datetime.datetime | None = None,
) -> Verified:
    """Check a presigned URL as received: algorithm, scope, expiry (at most ``max_expires``
    seconds) and signature, over every query parameter but ``X-Amz-Signature``."""
    now = now or _utcnow()
    pairs = query_pairs(raw_query)
    params = dict(pairs)
    required = (
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
    )
    if any(name not in params for name in required):
        raise SignatureError(
            "AccessDeniedException", "The request is not signed: X-Amz-* query parameters missing"
        )
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise SignatureError("AccessDeniedException", "Unsupported signing algorithm")
    timestamp = params["X-Amz-Date"]
    access_key, region = _check_scope(params["X-Amz-Credential"], service, timestamp, now)
    try:
        expires = int(params["X-Amz-Expires"])
    except ValueError:
        expires = -1
    if not 1 <= expires <= max_expires:
        raise SignatureError(
            "InvalidArgumentException",
            f"X-Amz-Expires must be between 1 and {max_expires} seconds",
            400,
        )
    signed_at = _parse_timestamp(timestamp)
    if signed_at - now > MAX_CLOCK_SKEW:
        raise SignatureError("AccessDeniedException", "Signature not yet current")
    if now > signed_at + datetime.timedelta(seconds=expires):
        raise SignatureError("AccessDeniedException", "Signature expired")
    credentials = store.lookup(access_key, params.get("X-Amz-Security-Token"), now)
    if params["X-Amz-SignedHeaders"] != "host":
        raise _mismatch()
    unsigned = [(key, value) for key, value in pairs if key != "X-Amz-Signature"]
    request = AWSRequest(method, f"http://{host}{path}", {"host": host}, params=unsigned)
    return _verified(
        request, credentials, service, region, timestamp, "host", params["X-Amz-Signature"]
    )


def _verified(
    request: AWSRequest,
    credentials: IssuedCredentials,
    service: str,
    region: str,
    timestamp: str,
    signed_headers: str,
    signature: str,
) -> Verified:
    """Who signed ``request``, if ``signature`` is what botocore's signer computes for it."""
    signer = SigV4Auth(
        ReadOnlyCredentials(
            credentials.access_key_id, credentials.secret_access_key, credentials.session_token
        ),
        service,
        region,
    )
    request.context["timestamp"] = timestamp
    if signer.signed_headers(signer.headers_to_sign(request)) != signed_headers:
        raise _mismatch()
    expected = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
    if not hmac.compare_digest(expected, signature):
        raise _mismatch()
    return Verified(credentials.principal, region, credentials.grants)


def _check_scope(
    credential: str, service: str, timestamp: str, now: datetime.datetime
) -> tuple[str, str]:
    """``AKID/yyyymmdd/region/service/aws4_request`` -> (access key, region)."""
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not parts[0]:
        raise SignatureError("IncompleteSignatureException", "Malformed credential scope", 400)
    if parts[3] != service:
        raise SignatureError(
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{service}'.",
        )
    if parts[1] != timestamp[:8]:
        raise SignatureError(
            "InvalidSignatureException",
            "Date in Credential scope does not match YYYYMMDD from X-Amz-Date",
        )
    return parts[0], parts[2]


def _check_skew(signed_at: datetime.datetime, now: datetime.datetime) -> None:
    if abs(signed_at - now) > MAX_CLOCK_SKEW:
        raise SignatureError(
            "InvalidSignatureException",
            "Signature expired: the signing time is too far from the server's",
        )


def _parse_timestamp(timestamp: str) -> datetime.datetime:
    try:
        parsed = datetime.datetime.strptime(timestamp, SIGV4_TIMESTAMP)
    except ValueError:
        raise SignatureError(
            "IncompleteSignatureException", "X-Amz-Date must be YYYYMMDDTHHMMSSZ", 400
        ) from None
    return parsed.replace(tzinfo=datetime.UTC)


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """The decoded parameters of a query string. The signature covers them re-encoded the
    SigV4 way, as AWS computes it, so a client's choice of escaping does not matter; a raw
    ``+`` is a space, as on AWS (a session token's ``+`` must be sent as ``%2B``)."""
    pairs = []
    for pair in filter(None, raw_query.split("&")):
        key, _, value = pair.partition("=")
        pairs.append((unquote_plus(key), unquote_plus(value)))
    return pairs


def _same(given: str | None, issued: str | None) -> bool:
    return hmac.compare_digest(given or "", issued or "")


def _mismatch() -> SignatureError:
    return SignatureError(
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided.",
    )


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)

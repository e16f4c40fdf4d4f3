"""Verifying an ``Authorization: Bearer <JWT>`` header and reading what the token grants.

Keys come from one of three places: a JWKS URL (an identity provider), a PEM public key
in the environment, or a PEM public key kept in Secrets Manager. Whatever goes wrong
raises; the caller turns every exception into a denial.
"""

from __future__ import annotations

import base64
import re
import textwrap
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from robot.contracts import access

ALGORITHMS = ("RS256", "RS512", "ES256")
LEEWAY_SECONDS = 30
# A real token is well under 2 KB; refusing big ones early bounds the work per request.
MAX_TOKEN_CHARS = 8192
# The same check API Gateway runs before calling the authorizer (the template's
# ValidationExpression; tests keep the two equal).
VALIDATION_EXPRESSION = r"^[Bb]earer [-0-9A-Za-z_]+\.[-0-9A-Za-z_]+\.[-0-9A-Za-z_]+$"
_HEADER_RE = re.compile(VALIDATION_EXPRESSION)
REQUIRED_CLAIMS = ("exp", "iss", "aud", "sub")
# Plain http only to an identity provider on this machine (a development setup).
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
SECRET_REFRESH_SECONDS = 900
JWKS_CACHE_SECONDS = 600

KeyResolver = Callable[[str], Any]


class InvalidToken(Exception):
    """The header or token is not one this authorizer accepts."""


class ConfigError(Exception):
    """The authorizer's environment does not say how to verify tokens."""


def bearer_token(authorization: str) -> str:
    """The JWT out of an ``Authorization`` header value, or InvalidToken."""
    if not isinstance(authorization, str) or len(authorization) > MAX_TOKEN_CHARS:
        raise InvalidToken("missing or oversized Authorization header")
    if not _HEADER_RE.fullmatch(authorization):  # "$" alone would allow a trailing "\n"
        raise InvalidToken("the Authorization header is not 'Bearer <JWT>'")
    return authorization[7:]


class Verifier:
    """Checks signature, ``exp``, ``nbf``, ``iss`` and ``aud``, then reads the grants."""

    def __init__(
        self, resolve_key: KeyResolver, issuer: str, audience: str, leeway: float = LEEWAY_SECONDS
    ) -> None:
        self._resolve_key = resolve_key
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway

    def verify(self, authorization: str) -> access.Grants:
        token = bearer_token(authorization)
        try:
            claims = jwt.decode(
                token,
                key=self._resolve_key(token),
                algorithms=list(ALGORITHMS),
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS), "verify_signature": True},
            )
            # PyJWT reads "exp": "123" as a number; a NumericDate is a JSON number (RFC 7519).
            if any(isinstance(claims.get(name), str | bool) for name in ("exp", "nbf", "iat")):
                raise InvalidToken("exp, nbf and iat must be numbers")
            _check_lifetime(claims, self._leeway)
            subject = claims["sub"]
            if not isinstance(subject, str) or not subject:
                raise InvalidToken("the sub claim must be a non-empty string")
            return access.Grants(
                subject[:256], access.scopes_from_claims(claims), access.robots_from_claims(claims)
            )
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
            raise InvalidToken(f"{type(exc).__name__}: {str(exc)[:120]}") from None


def _check_lifetime(claims: Mapping[str, Any], leeway: float) -> None:
    """A token cannot be revoked, so none may live longer than tokens are minted for: from
    ``iat`` to ``exp``, or from now when it has no ``iat``."""
    start = claims.get("iat", time.time())
    if claims["exp"] - start > access.MAX_TOKEN_LIFETIME_SECONDS + leeway:
        raise InvalidToken(
            f"the token lives longer than {access.MAX_TOKEN_LIFETIME_SECONDS // 86400} days"
        )


def load_public_key(text: str) -> Any:
    """A public key from PEM text, or from its one-line form: the base64 body alone, which
    fits a CloudFormation parameter (``robot keys init`` prints both)."""
    text = text.strip()
    if not text.startswith("-----BEGIN"):
        body = "".join(text.split())
        base64.b64decode(body, validate=True)  # a clear error for a mangled paste
        text = "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----".format(
            "\n".join(textwrap.wrap(body, 64))
        )
    return load_pem_public_key(text.encode())


def static_key(key: Any) -> KeyResolver:
    return lambda token: key


def jwks_keys(url: str) -> KeyResolver:
    """Keys from an identity provider's JWKS, cached across requests (a warm container
    fetches the set once per ``JWKS_CACHE_SECONDS`` and again when a new ``kid`` shows up)."""
    client = jwt.PyJWKClient(url, cache_keys=True, lifespan=JWKS_CACHE_SECONDS, timeout=3)

    def resolve(token: str) -> Any:
        try:
            return client.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientError:
            # Its message quotes the token's kid, which the sender chose: not for the logs.
            raise InvalidToken("no signing key in the JWKS matches the token's kid") from None

    return resolve


def secret_key(
    secret_id: str, get_secret: Callable[[str], str], clock: Callable[[], float] = time.monotonic
) -> KeyResolver:
    """A PEM public key kept in Secrets Manager, read once and re-read every
    ``SECRET_REFRESH_SECONDS`` so that a rotated key is picked up without a redeploy."""
    lock = threading.Lock()
    cached: list[Any] = []  # [key, read_at]

    def resolve(token: str) -> Any:
        with lock:
            if not cached or clock() - cached[1] > SECRET_REFRESH_SECONDS:
                cached[:] = [load_public_key(get_secret(secret_id)), clock()]
            return cached[0]

    return resolve


def check_jwks_url(url: str) -> None:
    """ConfigError unless ``url`` is https, or http to this machine: parsed, not prefix-matched
    (``http://localhost.attacker.example`` starts like a local URL)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (raises ValueError on a malformed port)
    except ValueError:
        raise ConfigError("JWKS_URL is not a valid URL") from None
    local = parts.scheme == "http" and host in LOCAL_HOSTS
    if not host or parts.username is not None or not (parts.scheme == "https" or local):
        raise ConfigError("JWKS_URL must be an https:// URL")


def from_environment(
    environ: Mapping[str, str], secrets_client_factory: Callable[[], Any] | None = None
) -> Verifier:
    """Build the verifier the environment describes; ConfigError says what is missing."""
    issuer = environ.get("JWT_ISSUER", "").strip()
    audience = environ.get("JWT_AUDIENCE", "").strip()
    if not issuer or not audience:
        raise ConfigError("set JWT_ISSUER and JWT_AUDIENCE")
    sources = [
        name
        for name in ("JWKS_URL", "JWT_PUBLIC_KEY", "JWT_PUBLIC_KEY_SECRET_ID")
        if environ.get(name, "").strip()
    ]
    if len(sources) != 1:
        raise ConfigError(
            "set exactly one of JWKS_URL, JWT_PUBLIC_KEY, JWT_PUBLIC_KEY_SECRET_ID"
            f" (found {', '.join(sources) or 'none'})"
        )
    value = environ[sources[0]].strip()
    if sources[0] == "JWKS_URL":
        check_jwks_url(value)
        resolver = jwks_keys(value)
    elif sources[0] == "JWT_PUBLIC_KEY":
        resolver = static_key(load_public_key(value))
    else:
        if secrets_client_factory is None:
            raise ConfigError("JWT_PUBLIC_KEY_SECRET_ID needs a Secrets Manager client")
        client = secrets_client_factory()
        resolver = secret_key(
            value, lambda sid: client.get_secret_value(SecretId=sid)["SecretString"]
        )
    return Verifier(resolver, issuer, audience)
